// searchlib's web page: results as you type, and "/" to focus the search box. Every page works
// without this script; it only fetches the same pages sooner. No inline script (the page's CSP).
"use strict";
(function () {
  const form = document.getElementById("search");
  const box = document.getElementById("q");
  if (!form || !box) return;

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Results as you type: the page for the form's URL, fetched after a pause, replaces the main
  // part of this one, and the address bar follows (replaceState), so the URL still holds the
  // whole state and the back button leaves the page as it was shown.
  let timer = null;
  let latest = 0;
  function urlOfForm() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value !== "" && !(name === "sort" && value === "relevance")) params.append(name, value);
    }
    const query = params.toString();
    return "/" + (query ? "?" + query : "");
  }
  async function refresh() {
    const url = urlOfForm();
    const mine = ++latest;
    try {
      const response = await fetch(url, { headers: { "Accept": "text/html" } });
      const text = await response.text();
      if (mine !== latest) return;  // a newer request was sent meanwhile
      const page = new DOMParser().parseFromString(text, "text/html");
      const fresh = page.getElementById("main");
      const main = document.getElementById("main");
      if (!fresh || !main) return;
      main.replaceWith(document.importNode(fresh, true));
      document.title = page.title;
      history.replaceState(null, "", url);
    } catch (error) {
      // offline or the server stopped: the form still submits as a plain GET
    }
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
