#!/usr/bin/env python3
"""Fail when a public symbol has no documentation.

Doxygen (WARN_IF_UNDOCUMENTED) warns about undocumented functions, macros,
typedefs, types and struct members, but not about undocumented enumerators.
This reads Doxygen's XML output and checks every symbol of the public headers,
enumerators included: each must have a brief or a detailed description.
Internals (names with a double underscore) are skipped, as in the Doxyfile.

Usage: check_documented.py <doxygen xml directory>     (make docs runs it)
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET


def documented(elem):
    return any("".join(d.itertext()).strip()
               for d in (elem.find("briefdescription"), elem.find("detaileddescription"))
               if d is not None)


def location(elem):
    loc = elem.find("location")
    if loc is None:
        return "?"
    return f"{loc.get('file')}:{loc.get('line', '?')}"


def main(xml_dir):
    files = sorted(glob.glob(os.path.join(xml_dir, "*.xml")))
    if not files:
        sys.exit(f"check_documented: no Doxygen XML in {xml_dir}")
    problems, seen = [], set()
    for path in files:
        if os.path.basename(path) in ("index.xml", "Doxyfile.xml"):
            continue
        for compound in ET.parse(path).getroot().iter("compounddef"):
            if compound.get("kind") not in ("file", "struct", "union"):
                continue
            for member in compound.iter("memberdef"):
                items = [(member, member.get("kind"))]
                items += [(v, "enumvalue") for v in member.iter("enumvalue")]
                for elem, kind in items:
                    name = (elem.findtext("name") or "").strip()
                    if not name or "__" in name or name.startswith("@"):
                        continue
                    seen.add((name, kind))
                    if not documented(elem):
                        where = location(elem) if kind != "enumvalue" else location(member)
                        problems.append(f"{where}: {name} ({kind}) is not documented")
    for p in sorted(set(problems)):
        print(f"check_documented: {p}")
    print(f"check_documented: {len(seen)} public symbols, {len(set(problems))} undocumented")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
