"""The union-find that joins the stories a parallel rebuild's workers wrote apart (relinking):
finding a root must not add stories to it (a rebuild of the real corpora with 2 jobs raised
'dictionary changed size during iteration')."""
from searchlib.stories.relinking import Groups


def test_finding_roots_changes_no_membership_and_compresses_paths():
    groups = Groups()
    for one, other in [("d", "c"), ("c", "b"), ("b", "a"), ("y", "x")]:
        groups.join(one, other)
    stories = set(groups.parent)
    assert {groups.find(story) for story in groups.parent} == {"a", "x"}
    assert set(groups.parent) == stories                  # nothing added while finding
    assert all(groups.parent[s] in ("a", "x") for s in ("d", "c", "b", "y"))
    assert groups.find("z") == "z" and "z" not in groups.parent
