#!/usr/bin/env python3
"""The include graph of munet's folders, read from the #include lines of src/ and io/.

Layers that only look down (DEVGUIDE, README "Design"): every folder includes only itself and
folders below it in LAYERS. Prints the folder-to-folder graph (with the number of #include lines
of each edge), then every #include between src/evo, src/dist, src/pool and io/ (file and header),
and exits 1 naming each #include that looks up, or that names a folder LAYERS does not place.

usage: include_graph.py [REPO]   (default: the repository this script is in)
"""
import collections
import pathlib
import re
import sys

# Bottom up. kernels/cpu and kernels/cuda count as kernels; "munet/build_config.h" is generated
# by CMake from src/util/build_config.h.in, so it counts as util. io/ is the persistence layer,
# under src/app (the command line), which uses it.
LAYERS = ["util", "tensor", "kernels", "nn", "optim", "data", "train", "import", "dist", "pool", "evo",
          "io", "app"]
ALIASES = {"munet": "util"}
WATCHED = ["evo", "dist", "pool", "io"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
SOURCES = (".h", ".cc", ".cu", ".cuh", ".in")


def folder_of_file(repo, path):
    rel = path.relative_to(repo).parts
    return "io" if rel[0] == "io" else rel[1]


def folder_of_header(header):
    top = header.split("/")[0] if "/" in header else None
    return ALIASES.get(top, top)


def main():
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    rank = {name: i for i, name in enumerate(LAYERS)}
    edges = collections.Counter()
    watched, errors = [], []
    files = sorted(p for top in ("src", "io") for p in (repo / top).rglob("*")
                   if p.is_file() and p.name.endswith(SOURCES))
    if not files:
        sys.exit(f"include_graph.py: no sources under {repo}/src or {repo}/io")
    for path in files:
        src = folder_of_file(repo, path)
        if src not in rank:
            errors.append(f"{path.relative_to(repo)}: folder '{src}' has no place in LAYERS (tests/tools/include_graph.py)")
            continue
        for header in INCLUDE.findall(path.read_text(errors="replace")):
            dst = folder_of_header(header)
            if dst is None or dst == src:
                continue  # a header beside it, or its own folder
            if dst not in rank:
                errors.append(f"{path.relative_to(repo)}: includes \"{header}\" from folder '{dst}', which has no "
                              "place in LAYERS")
                continue
            edges[(src, dst)] += 1
            if rank[dst] > rank[src]:
                errors.append(f"{path.relative_to(repo)}: includes \"{header}\": {src} looks up at {dst}")
            if src in WATCHED and dst in WATCHED:
                watched.append(f"  {path.relative_to(repo)} -> {header}")
    print("layers, bottom up: " + " < ".join(LAYERS))
    print("folder -> folders it includes (#include lines):")
    for src in reversed(LAYERS):
        out = [f"{dst} ({n})" for (s, dst), n in sorted(edges.items(), key=lambda e: -rank[e[0][1]]) if s == src]
        print(f"  {src:8} -> {', '.join(out) if out else '(nothing)'}")
    print(f"includes between {', '.join(WATCHED)}: {len(watched)}")
    print("\n".join(watched))
    if errors:
        print(f"{len(errors)} include(s) break the layering:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    print(f"ok: {len(files)} files, every include looks down")


if __name__ == "__main__":
    main()
