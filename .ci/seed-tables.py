#!/usr/bin/env python3
"""Compare (or, with --write, regenerate) the attribute-mapping tables vendored in
testdata/seeds/ with the tables in a folder of seed tutorials (Markdown sources of the
Microsoft Learn provisioning tutorials) and, with --reference, the default mapping table of
the Entra provisioning fact sheet (section 7.1).

Usage: seed-tables.py SEEDS_DIR [--reference FILE] [--write]
Exit 0 when every vendored table equals its source, 1 on a difference, 2 on bad input.
"""
import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "testdata" / "seeds"

# Profile id -> (word in the tutorial title, public page slug on Microsoft Learn).
TUTORIALS = {
    "servicely": ("Servicely", "servicely-provisioning-tutorial"),
    "freshservice": ("Freshservice", "freshservice-provisioning-tutorial"),
    "visibly": ("Visibly", "visibly-provisioning-tutorial"),
    "alvao": ("ALVAO", "alvao-provisioning-tutorial"),
    "alexishr": ("AlexisHR", "alexishr-provisioning-tutorial"),
}
LEARN = "https://learn.microsoft.com/en-us/entra/identity/saas-apps/"
SCIM_TUTORIAL = (
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/"
    "use-scim-to-provision-users-and-groups"
)


def cells(line):
    t = line.strip().strip("|")
    return [c.strip() for c in t.split("|")]


def mark(cell):
    return "yes" if ("&check;" in cell or "✓" in cell or cell.lower() == "yes") else ""


def seed_tables(text):
    """Returns (title, step heading, [(kind, header, rows)]) of one tutorial."""
    lines = text.splitlines()
    title = next(
        (l.split(":", 1)[1].strip().strip("'") for l in lines if l.startswith("title:")), ""
    )
    tables, step, i = [], "", 0
    while i + 1 < len(lines):
        line = lines[i]
        is_table = (
            line.strip().startswith("|")
            and lines[i + 1].strip().startswith("|---")
            and cells(line)[0].lower() == "attribute"
        )
        if not is_table:
            i += 1
            continue
        kind = None
        for prev in reversed(lines[:i]):
            low = prev.lower()
            if "group attributes" in low:
                kind = "groups"
                break
            if "user attributes" in low:
                kind = "users"
                break
        step = next(
            (p[3:].strip() for p in reversed(lines[:i]) if p.startswith("## Step")), step
        )
        header = cells(line)
        flags = [n for n, h in enumerate(header) if n >= 2]
        rows, j = [], i + 2
        while j < len(lines) and lines[j].strip().startswith("|"):
            c = cells(lines[j])
            row = [c[0], c[1] if len(c) > 1 else ""]
            for n in flags:
                value = c[n] if n < len(c) else ""
                row.append(value if "matching" in header[n].lower() else mark(value))
            rows.append(row)
            j += 1
        tables.append((kind, header, rows))
        i = j
    return title, step, tables


def render_seed(pid, title, step, tables):
    word, slug = TUTORIALS[pid]
    out = [
        f"# Source: Microsoft Learn, \"{title}\"",
        f"# {LEARN}{slug}",
        f"# {step}: the attribute-mapping tables (flags as `yes` or empty).",
        "# Vendored by .ci/seed-tables.py; CI compares it with the tutorial when it is at hand.",
    ]
    for kind, header, rows in tables:
        out += ["", f"[{kind}]", " | ".join(header)]
        out += [" | ".join(r).rstrip(" |") if not any(r[2:]) else " | ".join(r) for r in rows]
    return "\n".join(out) + "\n"


def reference_table(text):
    start = text.find("### 7.1")
    end = text.find("### 7.2", start)
    if start < 0 or end < 0:
        raise SystemExit("reference: no section 7.1")
    section = text[start:end].splitlines()
    users = []
    for l in section:
        if l.startswith("|") and not l.startswith("|---") and "SCIM attribute" not in l:
            c = cells(l)
            users.append([c[0], c[1].split("`")[1]])
    groups_line = next(l for l in section if l.startswith("Groups:"))
    pairs = re.findall(r"(\w+) → `([^`]+)`", groups_line)
    return users, [[a, b] for a, b in pairs]


def render_reference(users, groups):
    out = [
        "# Source: Microsoft Learn, \"Tutorial: Develop and plan provisioning for a SCIM endpoint"
        " in Microsoft Entra ID\"",
        f"# {SCIM_TUTORIAL}",
        "# The default attribute-mapping table (Entra attribute -> SCIM attribute), users and groups.",
        "# Vendored by .ci/seed-tables.py; CI compares it with the fact sheet when it is at hand.",
        "",
        "[users]",
        "Entra attribute | SCIM attribute",
    ]
    out += [" | ".join(r) for r in users]
    out += ["", "[groups]", "Entra attribute | SCIM attribute"]
    out += [" | ".join(r) for r in groups]
    return "\n".join(out) + "\n"


def main(argv):
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    seeds, write = pathlib.Path(argv[0]), "--write" in argv
    reference = argv[argv.index("--reference") + 1] if "--reference" in argv else None
    wanted = {}
    if not sorted(seeds.glob("*.txt")):
        print(f"{seeds}: no seed tutorials (*.txt) there")
        return 2
    for path in sorted(seeds.glob("*.txt")):
        title, step, tables = seed_tables(path.read_text(encoding="utf-8"))
        pid = next((p for p, (w, _) in TUTORIALS.items() if w in title), None)
        if pid is None:
            print(f"{path.name}: no profile for `{title}`")
            return 2
        wanted[f"{pid}.txt"] = render_seed(pid, title, step, tables)
    if reference:
        users, groups = reference_table(pathlib.Path(reference).read_text(encoding="utf-8"))
        wanted["entra-generic.txt"] = render_reference(users, groups)
    bad = 0
    for name, text in sorted(wanted.items()):
        target = OUT / name
        if write:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
        elif not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"testdata/seeds/{name} differs from its source; rerun with --write and review")
            bad += 1
        else:
            print(f"testdata/seeds/{name} equals its source")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
