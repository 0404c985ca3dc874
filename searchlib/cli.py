"""CLI: the `search` command — the terminal face of the library, and the only module using click.

Stage: presentation. Each command resolves its options (option → environment → default, via
`settings`), calls one library function and renders the result: results on stdout, progress and
warnings on stderr, colour only on a terminal. Exceptions become one-line messages in `main()`;
exit codes follow grep (see `ExitCode`).
"""
from __future__ import annotations

import atexit
import gc
import os
import sys
from enum import IntEnum
from pathlib import Path

import click

from .imports import defer_unused

defer_unused()  # before Whoosh is imported: see imports.py

from . import __version__, render, settings  # noqa: E402
from .errors import ArticleNotFoundError, IndexLockedError, SearchlibError  # noqa: E402
from .index import Index, exists, rebuild_index  # noqa: E402
from .querying.facets import FACETS  # noqa: E402
from .querying.searching import SORTS  # noqa: E402


class ExitCode(IntEnum):
    OK = 0            # hits found / everything indexed
    NOTHING = 1       # no hits / some files or records skipped
    ERROR = 2         # bad query, missing path or index, unreadable input
    PARTIAL = 3       # a search on a cluster that some shards did not answer: the others' results
    LOCKED = 75       # another reindex holds the index (EX_TEMPFAIL: cron may retry)
    INTERRUPTED = 130


EXAMPLES = """
\b
Examples:
  search "north korea artillery"              best hits, highlighted
  search 'title:korea AND date:2022-09'       field scoping and a month
  search '"north korea" NOT missile' --json   phrase, NOT, JSON Lines out
  search sanctions --since "Sept 2022" --until 2022-09-30
  search korea --sort newest --page 2         newest first, second page
  search korea --facet source --facet month   counts of all matches by outlet and month
  search korea --timeline                     when the story ran, as a bar chart
  search korea --fresh --snippets 3           recent articles first, three passages each
  search 'artilery~ "korea drills"~5'         fuzzy word, words within 5 of each other
  search index corpus/ ~/news/               (re)index files and folders
  search parse article.html                  show what would be indexed
  search show corpus/samples/desk.json#1     one whole article
  search similar corpus/samples/desk.json#1  articles like it
  search stats                               what the index holds
  search -- '-missile korea'                 a query starting with -
  search query stats                         a query that is a command's name
"""



def _examples(*lines: str) -> str:
    """A command's own examples, for the end of its --help (the group's lists them all)."""
    return "\n\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines) + "\n"


QUERY_EXAMPLES = _examples(
    'search "north korea artillery"              best hits, highlighted',
    "search 'title:korea AND date:2022-09'       field scoping and a month",
    "search 'artilery~ \"korea drills\"~5'         fuzzy word, words within 5 of each other",
    "search korea --facet source --facet month   counts of all matches by outlet and month",
    "search korea --count                        the number of matches only",
    "search -- '-missile korea'                  a query starting with -")
INDEX_EXAMPLES = _examples(
    "search index                                ./corpus (or $SEARCHLIB_CORPUS)",
    "search index corpus/ ~/news/                (re)index files and folders",
    "search index --rebuild --index ~/news.idx   a fresh index, swapped in when complete",
    "search index --json ~/news/ > report.json   the report for a script")
PARSE_EXAMPLES = _examples(
    "search parse article.html                   what would be indexed, every field",
    "search parse --json feed.xml                one JSON line per article, then a summary")
SHOW_EXAMPLES = _examples(
    "search show corpus/samples/desk.json#1      one whole article",
    "search show --json corpus/samples/desk.json#1")
SIMILAR_EXAMPLES = _examples(
    "search similar corpus/samples/desk.json#1   articles like it",
    "search similar --limit 3 --json corpus/samples/desk.json#1")
SERVE_EXAMPLES = _examples(
    "search serve                                the index as a web page on http://127.0.0.1:8000/",
    "search serve --index ~/news.idx --port 8080",
    "search serve --host 0.0.0.0                 reachable from other machines (says so)")
COPIES_EXAMPLES = _examples(
    "search copies corpus/samples/desk.json#1    the story's copies, first published first",
    "search copies --json corpus/samples/desk.json#1")
THREAD_EXAMPLES = _examples(
    "search thread corpus/samples/desk.json#1    the articles that follow its story, oldest first",
    "search thread --json --limit 20 corpus/samples/desk.json#1")
HISTORY_EXAMPLES = _examples(
    "search history corpus/samples/desk.json#1   its versions, with the words each changed",
    "search history --json corpus/samples/desk.json#1")
STATS_EXAMPLES = _examples(
    "search stats                                what the index holds",
    "search stats --json --index ~/news.idx")


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a command name, is a query: `search QUERY`.

    Options may come before the command (`search --index DIR stats` is `search stats --index DIR`);
    a query that starts with `-` follows `--` (`search -- -missile`), and a query that is a command
    name follows `query` (`search query stats`)."""

    default_command = "query"

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, self._route(list(args)))

    def _route(self, args: list[str]) -> list[str]:
        if not args or args[0] in self.commands or args[0] in ("--help", "-h", "--version"):
            return args
        valued = self._options_with_values()
        at = 0
        while at < len(args) and args[at].startswith("-") and args[at] not in ("-", "--"):
            name = args[at].split("=", 1)[0]
            at += 2 if name in valued and "=" not in args[at] else 1
        if at < len(args) and args[at] in self.commands:  # options first, then a command
            command = self.commands[args[at]]
            if isinstance(command, click.Group) and args[at + 1:at + 2] and args[at + 1] in command.commands:
                return [args[at], args[at + 1], *args[:at], *args[at + 2:]]  # (`watch run`: its options)
            return [args[at], *args[:at], *args[at + 1:]]
        return [self.default_command, *args]

    def _options_with_values(self) -> set[str]:
        commands = [*self.commands.values(), *(sub for group in self.commands.values()
                                               if isinstance(group, click.Group)
                                               for sub in group.commands.values())]
        return {name for command in commands for param in command.params
                if isinstance(param, click.Option) and not param.is_flag and not param.count
                for name in param.opts}

    def collect_usage_pieces(self, ctx):
        return ["QUERY [OPTIONS] | COMMAND [ARGS]..."]

    def format_options(self, ctx, formatter):
        """`search --help` lists the search options first (a search is the default command)."""
        query_command = self.commands[self.default_command]
        query_ctx = click.Context(query_command, info_name="search", parent=ctx)
        rows = [row for param in query_command.get_params(query_ctx)
                if (row := param.get_help_record(query_ctx)) and not row[0].startswith("-h,")]
        with formatter.section("Search options (search QUERY [OPTIONS])"):
            formatter.write_dl(rows)
        super().format_options(ctx, formatter)

    def invoke(self, ctx):
        """The one place where library errors become a one-line message and an exit code."""
        try:
            return super().invoke(ctx)
        except IndexLockedError as exc:
            _error(str(exc))
            ctx.exit(ExitCode.LOCKED)
        except SearchlibError as exc:
            _error(str(exc))
            ctx.exit(ExitCode.ERROR)
        except BrokenPipeError:  # `search ... | head`: the reader has seen enough; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(ExitCode.OK)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _error(f"{where}{exc.strerror or exc}")
            ctx.exit(ExitCode.ERROR)
        except KeyboardInterrupt:
            _warn("interrupted")
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug, or an index file damaged by hand: one line, not a traceback
            if os.environ.get(settings.DEBUG_ENV):
                raise
            _error(f"unexpected {type(exc).__name__}: {render.one_line(str(exc))[:200]} — if the index "
                   f"was damaged, rebuild it (search index --rebuild); else please report this "
                   f"({settings.DEBUG_ENV}=1 shows where it happened)")
            ctx.exit(ExitCode.ERROR)


index_option = click.option(
    "--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"Index folder [env {settings.INDEX_ENV}; default: ./{settings.DEFAULT_INDEX}].")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON Lines for scripts, ending with a summary object.")
color_option = click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                            show_default=True,
                            help="Colour the matches (auto: only on a terminal, unless NO_COLOR).")
exclude_option = click.option(
    "--exclude", multiple=True, metavar="GLOB",
    help="Leave out files and folders matching GLOB (gitignore syntax: '*.md', 'drafts/'); "
         "repeatable. A .searchlibignore file in a folder does the same for its subtree.")
cluster_option = click.option(
    "--cluster", metavar="ADDRESS", default=None,
    help=f"Build or search a sharded index on the Dask cluster at ADDRESS (tcp://HOST:8786) "
         f"[env {settings.CLUSTER_ENV}; default: this machine]. Needs: pip install 'searchlib[cluster]'.")
marks_option = click.option("--marks", type=click.Choice(["stars", "none"]), default="stars",
                            show_default=True,
                            help="Without colour, mark matches **like this** (stars) or not at all.")


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXAMPLES)
@click.version_option(__version__, prog_name="searchlib")
def cli():
    """Search a news archive: `search QUERY`, or one of the commands below."""


@cli.command(epilog=QUERY_EXAMPLES)
@click.argument("query")
@index_option
@click.option("--since", metavar="DATE", help="Only articles on or after DATE (2022-09-06, 'Sept 2022', yesterday, 7d).")
@click.option("--until", metavar="DATE", help="Only articles on or before DATE (whole days).")
@click.option("--lang", "langs", multiple=True, metavar="CODE",
              help="Only articles in language CODE (en, de, zh; en-US is en); repeatable or "
                   "comma-separated (--lang en,de).")
@click.option("-n", "--limit", type=click.IntRange(min=0), default=settings.DEFAULT_LIMIT,
              show_default=True, help="Number of hits to show.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True,
              help="Page of results to show (pages of --limit hits).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Order of the hits.")
@click.option("--fresh", is_flag=True,
              help=f"Boost recent articles (relevance order): the boost halves every "
                   f"{settings.FRESH_HALF_LIFE:g} days before the newest match.")
@click.option("--snippets", "fragments", type=click.IntRange(min=1, max=20), default=1,
              show_default=True, help="Passages of each article to show.")
@click.option("--facet", "facets", multiple=True, type=click.Choice(FACETS), metavar="FIELD",
              help="Count all matches by FIELD: source, section, author, tags, topics, places, "
                   "people, orgs, dateline, lang, format, or by day, month, year. Repeatable.")
@click.option("--timeline", is_flag=True, help="Draw a bar chart of matches over time under the hits.")
@click.option("--all-copies", is_flag=True,
              help="List every copy of a story (by default one hit per story, with its other outlets; "
                   "then pages count stories, totals and facets articles).")
@json_option
@click.option("-c", "--count", "count_only", is_flag=True,
              help="Print only the number of matching articles (like grep -c).")
@click.option("--receipt", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write a receipt of this search to FILE (what was asked and found, with a "
                   "sha256 digest); check it later with: search verify FILE.")
@color_option
@marks_option
@cluster_option
def query(query, index_dir, since, until, langs, limit, page, sort, fresh, fragments, facets, timeline,
          all_copies, as_json, count_only, receipt, color, marks, cluster):
    """Print the articles that best match QUERY.

    Articles with all of QUERY's words (in title, summary or body) come first, then the best
    partial matches, if too few have them all. Use AND, OR, NOT and parentheses,
    "quoted phrases", field:word (title, source, section, author, tags, url), wildcards (artill*)
    and dates: date:2022-09, date:[2022-09-01 TO 2022-09-30], date:>=2022-09-06.
    Exit status: 0 if something matched, 1 if nothing did, 2 on error, 3 if some shards of a
    sharded index did not answer on a cluster (--cluster): the results of the others.
    """
    idx = _open_or_build(settings.index_path(index_dir), demo=settings.is_default_index(index_dir),
                         cluster=settings.cluster_address(cluster))
    asked = list(facets) + (["date"] if timeline else [])
    now = _utc_now() if receipt else None  # (a receipt records the moment relative dates mean)
    options = dict(since=since, until=until, limit=0 if count_only else limit,
                   offset=(page - 1) * limit, sort=sort, snippets=fragments,
                   fresh=settings.FRESH_HALF_LIFE if fresh else None)
    results = idx.search(query, facets=asked, now=now, lang=list(langs) or None,
                         all_copies=all_copies, **options)
    if receipt:
        from .alerts.receipts import make_receipt, write_receipt
        write_receipt(receipt, make_receipt(idx, results, now=now, lang=list(langs) or None,
                                            all_copies=all_copies, **options))
        _note(f"receipt written to {render.one_line(str(receipt))}")
    style = render.Style(_use_color(color), marks)
    if results.partial and not count_only:
        _note(render.partial_note(results.complete))
    if count_only and not as_json:
        click.echo(results.total)
    elif as_json:
        _echo_lines(render.results_json(results, page, limit, asked))
    else:
        _echo_lines(render.results_lines(results, style), style.color)
        for name in facets:
            _echo_lines(render.facet_lines(name, results.facets[name]))
        if timeline:
            encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
            _echo_lines(render.timeline_lines(results.facets["date"], style.color,
                                              "█" if encoding.startswith("utf") else "#"), style.color)
    if not count_only:
        _note(render.count_note(results))
    if results.suggestion:
        _note(f"did you mean: {render.safe(results.suggestion)}")
    if results.shards and results.shards["failed"]:
        _warn(render.shards_note(results.shards))
        click.get_current_context().exit(ExitCode.PARTIAL)
    click.get_current_context().exit(ExitCode.OK if results.total else ExitCode.NOTHING)


@cli.command(epilog=SIMILAR_EXAMPLES)
@click.argument("article_id", metavar="ID")
@index_option
@click.option("-n", "--limit", type=click.IntRange(min=1), default=settings.DEFAULT_LIMIT, show_default=True)
@json_option
@color_option
@marks_option
def similar(article_id, index_dir, limit, as_json, color, marks):
    """List the articles most like the one with this ID (as shown by search --json)."""
    idx = Index(settings.index_path(index_dir), create=False)
    results = idx.similar(article_id, limit=limit)
    if as_json:
        _echo_lines(render.results_json(results, None, limit))
    else:
        style = render.Style(_use_color(color), marks)
        _echo_lines(render.results_lines(results, style), style.color)
    _note(render.count_note(results))
    click.get_current_context().exit(ExitCode.OK if results.total else ExitCode.NOTHING)


@cli.command(epilog=COPIES_EXAMPLES)
@click.argument("article_id", metavar="ID")
@index_option
@json_option
def copies(article_id, index_dir, as_json):
    """List the copies of the story the article ID belongs to (the same story in other outlets),
    the first published first, with what each changed: headline, added, cut or edited paragraphs.
    Exit status: 0 if it has copies, 1 if none but itself, 2 on error."""
    story = Index(settings.index_path(index_dir), create=False).copies(article_id)
    _echo_lines(render.copies_json(story) if as_json else render.copies_lines(story))
    # (exit 1 when the article has no copy but itself, as a search that finds nothing)
    click.get_current_context().exit(ExitCode.OK if len(story.copies) > 1 else ExitCode.NOTHING)


@cli.command(epilog=THREAD_EXAMPLES)
@click.argument("article_id", metavar="ID")
@index_option
@click.option("-n", "--limit", type=click.IntRange(min=1), default=settings.DEFAULT_LIMIT, show_default=True,
              help="Show at most this many stories that follow it.")
@json_option
def thread(article_id, index_dir, limit, as_json):
    """List the articles that follow the story of article ID over time (follow-ups, reactions,
    corrections; not its copies), oldest first: those sharing its rare words within 14 days."""
    found = Index(settings.index_path(index_dir), create=False).thread(article_id, limit=limit)
    _echo_lines(render.thread_json(found) if as_json else render.thread_lines(found))
    click.get_current_context().exit(ExitCode.OK if found.articles else ExitCode.NOTHING)


@cli.command(epilog=HISTORY_EXAMPLES)
@click.argument("article_id", metavar="ID")
@index_option
@json_option
@color_option
def history(article_id, index_dir, as_json, color):
    """List the versions of the article ID kept when reindexing changed its text (corrections),
    the oldest first, with what each changed, word by word: [-removed-]{+added+}."""
    found = Index(settings.index_path(index_dir), create=False).history(article_id)
    if as_json:
        _echo_lines(render.history_json(found))
    else:
        color = _use_color(color)
        _echo_lines(render.history_lines(found, color), color)


@cli.command(epilog=SHOW_EXAMPLES)
@click.argument("article_id", metavar="ID")
@index_option
@json_option
def show(article_id, index_dir, as_json):
    """Print one whole article, every field."""
    article = Index(settings.index_path(index_dir), create=False).get(article_id)
    if article is None:
        raise ArticleNotFoundError(article_id)
    if as_json:
        click.echo(render.json_line(article.to_dict()))
    else:
        _echo_lines(render.article_lines(article))


@cli.command(epilog=STATS_EXAMPLES)
@index_option
@json_option
def stats(index_dir, as_json):
    """Summarise the index: size, articles, date span, top sources and sections."""
    info = Index(settings.index_path(index_dir), create=False).stats()
    if as_json:
        click.echo(render.json_line(info.to_dict()))
    else:
        _echo_lines(render.stats_lines(info))


@cli.command(epilog=SERVE_EXAMPLES)
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but a loopback address lets other machines in.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8000, show_default=True,
              help="Port to listen on (0: any free one).")
def serve(index_dir, host, port):
    """Serve the index as a local web page: search, facets, timeline, articles (GET only,
    read-only; new commits show at once). Needs the web extra: pip install 'searchlib[web]'.
    Runs until Ctrl-C. Exit status: 2 if the extra is missing, the port taken or no index."""
    from .web import serve as serve_web  # (Starlette and uvicorn: imported only here)
    serve_web(settings.index_path(index_dir), host, port, ready=_listening)


def _listening(url: str, local: bool) -> None:
    _note(f"serving the index at {url}{', to this machine only' if local else ''} (Ctrl-C stops)")
    if not local:
        _warn("warning: listening beyond this machine: anyone who can reach this address can "
              "read the archive (use --host 127.0.0.1 to keep it local)")


@cli.command("index", epilog=INDEX_EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--rebuild", is_flag=True, help="Start from an empty index.")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds to wait for another reindex to finish before giving up.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Processes parsing files [default: one per core].")
@exclude_option
@click.option("--list-ignored", is_flag=True,
              help="Name on stderr each file ignored (a type searchlib does not read, or excluded).")
@click.option("--shards", metavar="N", default=None,
              help="Make an index of N shards (1-256), where there is none yet or with --rebuild.")
@cluster_option
@json_option
def index_command(paths, index_dir, rebuild, wait, jobs, exclude, list_ignored, shards, cluster, as_json):
    """Index articles from PATHS (files or folders; default: ./corpus).

    Formats: plain text (.txt, BBC-style folders), HTML pages (.html), JSON (.json), JSON Lines
    (.jsonl), CSV (.csv), Reuters SGML (.sgm), RSS/Atom feeds (.xml, .rss), SMART test
    collections, and any of them gzip-compressed (.gz).
    Incremental: new files are added, changed files have their articles replaced, files gone
    from PATHS have theirs removed, unchanged files are not read. --rebuild builds a fresh index
    and swaps it in when complete. Exit status: 0 if every file was indexed, 1 if some were
    skipped, 2 on error, 75 if another reindex holds the index (see --wait). Files of other
    types (README.md, LICENSE, ...) are ignored, not skipped: counted, and named with
    --list-ignored; leave out more with --exclude or a .searchlibignore file (gitignore syntax).
    """
    index_path = settings.index_path(index_dir)
    paths = list(paths) or [settings.corpus_path()]
    if shards is not None and shards.strip().isascii() and shards.strip().isdigit():
        shards = int(shards)  # (anything else goes as typed: the library's error names it)
    if rebuild:  # without opening the old index: it may be from another schema version
        report = rebuild_index(index_path, paths, progress=_ProgressBar(), wait=wait, jobs=jobs,
                               exclude=exclude, shards=shards, cluster=settings.cluster_address(cluster))
    else:
        report = Index(index_path, cluster=settings.cluster_address(cluster)).update(
            paths, progress=_ProgressBar(), wait=wait, jobs=jobs, exclude=exclude, shards=shards)
    if list_ignored:
        for path in report.ignored:
            _warn(f"ignored {path}")
    if as_json:
        click.echo(render.json_line(report.to_dict()))
    else:
        _report_problems(report)
        click.echo(render.update_summary(report, index_path))
    click.get_current_context().exit(ExitCode.OK if report.ok else ExitCode.NOTHING)


@cli.command(epilog=PARSE_EXAMPLES)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@exclude_option
@json_option
@click.option("--index", "index_dir", hidden=True, help="Accepted and unused: parsing needs no index.")
def parse(paths, exclude, as_json, index_dir):
    """Print the articles that would be indexed from PATHS, every field, without indexing.

    With --json: one line per article, then a last line {"articles": N, "skipped": [{"path",
    "record", "reason"}, ...]} (the skipped list as in `search index --json`).
    Exit status: 0 if everything parsed, 1 if something was skipped, 2 on error.
    """
    skipped, articles = [], 0
    from .ingest.corpus import Skipped, read_articles  # the parsers: not loaded for a search
    for item in read_articles(paths, exclude=exclude):
        if isinstance(item, Skipped):
            skipped.append(item)
            _warn(f"skipped {render.safe(str(item))}")
            continue
        articles += 1
        if as_json:
            click.echo(render.json_line(item.to_dict()))
        else:
            _echo_lines(render.article_lines(item))
    if as_json:
        click.echo(render.json_line({"articles": articles, "skipped": [s.to_dict() for s in skipped]}))
    click.get_current_context().exit(ExitCode.NOTHING if skipped else ExitCode.OK)


VERIFY_EXAMPLES = _examples(
    "search korea --receipt korea.receipt        search, and write down what was found",
    "search verify korea.receipt                 the same answer today? (exit 0 same, 1 not)",
    "search verify --json korea.receipt")
WATCH_EXAMPLES = _examples(
    "search watch add korea '\"north korea\" artillery'   save a search",
    "search watch run                            what entered the index since each last ran",
    "search watch run korea --digest-dir feeds/  also update feeds/korea.atom",
    "search watch list --json                    every watch, then a summary",
    "search watch show korea                     its query, last run, articles found",
    "search watch rm korea")


@cli.command(epilog=VERIFY_EXAMPLES)
@click.argument("receipt_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@index_option
@json_option
def verify(receipt_file, index_dir, as_json):
    """Run the search a receipt records (search QUERY --receipt FILE) on the index as it is now
    and say whether it finds the same articles with the same scores, or which came, went or
    changed. Exit status: 0 the same, 1 different, 2 a bad receipt (edited, not a receipt) or
    another error."""
    from .alerts.receipts import verify_receipt
    verdict = verify_receipt(receipt_file, Index(settings.index_path(index_dir), create=False))
    if as_json:
        _echo_lines([render.json_line(change.to_dict()) for change in verdict.changes])
        click.echo(render.json_line(verdict.to_dict()))
    else:
        _echo_lines(render.verdict_lines(verdict))
    click.get_current_context().exit(ExitCode.OK if verdict.same else ExitCode.NOTHING)


@cli.group(epilog=WATCH_EXAMPLES)
def watch():
    """Saved searches: `search watch run` prints the articles that entered the index since each
    watch last ran (exit 0 something new, 1 nothing new, 2 an error with any watch)."""


@watch.command("add")
@click.argument("name")
@click.argument("query")
@index_option
@click.option("--since", metavar="DATE", help="Only articles published on or after DATE (as for a search; '7d' is read at each run).")
@click.option("--until", metavar="DATE", help="Only articles published on or before DATE.")
@click.option("--backfill", is_flag=True,
              help="Report the matching articles already in the index at the first run too "
                   "(default: only those that enter from now on).")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds to wait for a reindex holding the index.")
@json_option
def watch_add(name, query, index_dir, since, until, backfill, wait, as_json):
    """Save QUERY as the watch NAME (letters, digits, '.', '_', '-')."""
    added = Index(settings.index_path(index_dir), create=False).watches.add(
        name, query, since=since, until=until, backfill=backfill, wait=wait)
    if as_json:
        click.echo(render.json_line(render.watch_object(added)))
    else:
        click.echo(render.watch_line(added))


@watch.command("list")
@index_option
@json_option
def watch_list(index_dir, as_json):
    """List the watches. Exit status: 0 if there are any, 1 if none."""
    watches = Index(settings.index_path(index_dir), create=False).watches.list()
    if as_json:
        _echo_lines([render.json_line(render.watch_object(w)) for w in watches])
        click.echo(render.json_line({"watches": len(watches)}))
    else:
        _echo_lines([render.watch_line(w) for w in watches])
    click.get_current_context().exit(ExitCode.OK if watches else ExitCode.NOTHING)


@watch.command("show")
@click.argument("name")
@index_option
@json_option
def watch_show(name, index_dir, as_json):
    """Print one watch: its query and dates, when it last ran, how many articles it found."""
    shown = Index(settings.index_path(index_dir), create=False).watches.get(name)
    if as_json:
        click.echo(render.json_line(render.watch_object(shown)))
    else:
        _echo_lines(render.watch_lines(shown))


@watch.command("rm")
@click.argument("name")
@index_option
@json_option
def watch_rm(name, index_dir, as_json):
    """Remove the watch NAME (a feed it wrote stays where it is)."""
    gone = Index(settings.index_path(index_dir), create=False).watches.remove(name)
    if as_json:
        click.echo(render.json_line({"removed": render.watch_object(gone)}))
    else:
        _note(f"removed watch {render.one_line(gone.name)}")


@watch.command("run")
@click.argument("names", nargs=-1)
@index_option
@click.option("--digest-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Also write each watch's Atom feed, DIR/NAME.atom (updated in place).")
@click.option("--mail-command", metavar="CMD",
              help="Pipe a plain-text digest to CMD (e.g. 'sendmail -t') for each watch with news.")
@click.option("--mail-to", metavar="ADDRESS", help="The digest's To: header (for sendmail -t).")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds to wait for a reindex (or another run) holding the index.")
@json_option
@color_option
@marks_option
def watch_run(names, index_dir, digest_dir, mail_command, mail_to, wait, as_json, color, marks):
    """Print the articles matching each watch NAME (default: all) that entered the index since
    it last ran, newest first, and move its cursor on. Exit status: 0 something new, 1 nothing
    new, 2 an error with any watch (named; the others still run and their cursors move)."""
    style = render.Style(_use_color(color), marks)

    def deliver(watch, arrivals):  # printed before the watch's cursor moves on
        if as_json:
            _echo_lines([render.json_line({"watch": watch.name, **item.to_dict()}) for item in arrivals])
        elif len(arrivals):
            _echo_lines(render.arrival_lines(watch, arrivals, style), style.color)
        else:
            _note(f"{render.one_line(watch.name)}: nothing new")
        sys.stdout.flush()

    done = Index(settings.index_path(index_dir), create=False).watches.run(
        names or None, deliver=deliver, digest_dir=digest_dir, mail_command=mail_command,
        mail_to=mail_to, wait=wait)
    for error in done.errors:
        _error(str(error))
    if as_json:
        click.echo(render.json_line(done.to_dict()))
    code = ExitCode.ERROR if done.errors else ExitCode.OK if done.new else ExitCode.NOTHING
    click.get_current_context().exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (`search`)."""
    # At exit, Python runs its cycle collector over every object the imports made: ~10 ms of a
    # ~140 ms search. Frozen first (at exit, so a program calling main() twice is unaffected),
    # they are left to reference counting, which frees them all the same; nothing here needs the
    # collector at exit, as files and indexes are closed by `with` blocks before main returns.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    cli.main(args=argv, prog_name="search")


# --- helpers: rendering and messages ------------------------------------------------------

def _open_or_build(index_path: Path, demo: bool, cluster: str | None = None) -> Index:
    """The index. Only the default index (no --index, no $SEARCHLIB_INDEX) is built on first use,
    from the default corpus (saying so on stderr): the documented demo. A search never creates
    or changes anything in a folder it was pointed at."""
    if not demo or exists(index_path):
        return Index(index_path, create=False, cluster=cluster)
    corpus = settings.corpus_path()
    if not corpus.exists():
        return Index(index_path, create=False)  # raises IndexNotFoundError with what to run
    _note(f"no index at {index_path}/ yet: building it from {corpus}/ first")
    idx = Index(index_path)
    report = idx.update([corpus], progress=_ProgressBar())
    _report_problems(report)
    _note(render.update_summary(report, index_path))
    return idx


def _report_problems(report) -> None:
    for line in render.problem_lines(report):
        _warn(line)


class _ProgressBar:
    """Feeds the library's progress callback (bytes read of the bytes to read, and the articles
    written, which the library sets in `articles`) into a progress line on stderr, on terminals
    only: the share done, articles/s and the time left (indexing.progress.Estimate), redrawn at
    most every REDRAW seconds. Bytes, not files, so one large file does not stall the estimate."""

    SHOW_FROM = 1 << 20  # bytes: a smaller run ends before a bar helps
    REDRAW = 0.25

    def __init__(self):
        from .indexing.progress import Estimate
        self.articles: int | None = None
        self.estimate = Estimate()
        self.shown = None  # when the line was last drawn (None: not shown)
        self.width = 0

    def __call__(self, done: int, total: int, path: Path) -> None:
        speed = self.estimate.update(done, total, self.articles)
        if self.shown is None and (not sys.stderr.isatty() or total < self.SHOW_FROM):
            return
        now = self.estimate.clock()
        finished = done >= total
        if self.shown is not None and now - self.shown < self.REDRAW and not finished:
            return
        self.shown = now
        line = render.progress_line(speed)
        click.echo("\r" + line + " " * max(0, self.width - len(line)), err=True, nl=finished)
        self.width = len(line)


def _utc_now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def _use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _note(message: str) -> None:
    click.echo(message, err=True)


def _warn(message: str) -> None:
    click.echo(f"search: {render.one_line(message)}", err=True)


def _error(message: str) -> None:
    click.echo(f"search: error: {render.one_line(message)}", err=True)


def _echo_lines(lines: list[str], color: bool = False) -> None:
    for line in lines:
        click.echo(line, color=color)


if __name__ == "__main__":
    main()
