#!/usr/bin/env python3
"""What the WASM is made of: each function's code size, from the module's name section, summed
by the crate that defines it. Reads the module cargo builds (before wasm-bindgen and wasm-opt,
which drop the names), so sizes are before wasm-opt's shrinking: read them as shares.

    bench/wasm_sizes.py [MODULE] [N]    (N: how many crates and functions to list, 25)
"""
import collections
import re
import sys


def leb(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def sections(data):
    at = 8
    while at < len(data):
        kind = data[at]
        size, at = leb(data, at + 1)
        yield kind, data[at:at + size]
        at += size


def imported_functions(body):
    count, at = leb(body, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):
            length, at = leb(body, at)
            at += length
        kind = body[at]
        at += 1
        if kind == 0:
            functions += 1
            _, at = leb(body, at)
        elif kind == 1:
            at += 1
            flags, at = leb(body, at)
            _, at = leb(body, at)
            if flags & 1:
                _, at = leb(body, at)
        elif kind == 2:
            flags, at = leb(body, at)
            _, at = leb(body, at)
            if flags & 1:
                _, at = leb(body, at)
        elif kind == 3:
            at += 2
        else:
            _, at = leb(body, at + 1)
    return functions


def code_sizes(body):
    count, at = leb(body, 0)
    sizes = []
    for _ in range(count):
        size, at = leb(body, at)
        sizes.append(size)
        at += size
    return sizes


def names(body):
    if not body.startswith(b"\x04name"):
        return None
    at, found = 5, {}
    while at < len(body):
        kind = body[at]
        size, at = leb(body, at + 1)
        if kind == 1:
            sub = body[at:at + size]
            count, p = leb(sub, 0)
            for _ in range(count):
                index, p = leb(sub, p)
                length, p = leb(sub, p)
                found[index] = sub[p:p + length].decode("utf-8", "replace")
                p += length
        at += size
    return found


def legacy_parts(name):
    """The path components of a legacy-mangled symbol (`_ZN` length-prefixed names)."""
    parts, at = [], 3
    while at < len(name) and name[at].isdigit():
        digits = re.match(r"\d+", name[at:]).group(0)
        at += len(digits)
        parts.append(name[at:at + int(digits)])
        at += int(digits)
    return parts


def unescape(part):
    for code, text in (("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$u20$", " "), ("$C$", ","),
                       ("$BP$", "*"), ("$u5b$", "["), ("$u5d$", "]"), ("$u7b$", "{"), ("$u7d$", "}"), ("..", "::")):
        part = part.replace(code, text)
    return part


def readable(name):
    """A legacy-mangled symbol as a path, without its hash."""
    if not name.startswith("_ZN"):
        return name
    parts = [unescape(part) for part in legacy_parts(name)]
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    return "::".join(part.lstrip("_") if part.startswith("_<") else part for part in parts)


def crate_of(name):
    """The crate a symbol comes from; for `<T as Trait>::f`, the crate of T (as `twiggy` groups)."""
    if name.startswith("__wbindgen_describe"):
        return "(wasm-bindgen's descriptors, gone once it has run)"
    if name.startswith("_ZN"):
        parts = legacy_parts(name)
        if not parts:
            return "(other)"
        first = unescape(parts[0]).lstrip("_")
        if first.startswith("<"):
            inner = re.sub(r"^<(&mut |&|\*const |\*mut |\[)*", "", first)
            crate = re.split(r"::|<| |>|;|,", inner)[0]
            # A blanket impl (`<T as Trait>`) names no crate of its own.
            return crate if crate and crate not in ("T", "F", "I", "S", "E", "A", "V") else "(generic impls)"
        return first
    if name.startswith("_R"):
        found = re.search(r"C[s0-9A-Za-z]*?_(\d+)([A-Za-z_])", name)
        if found:
            at = found.start(1)
            length = int(found.group(1))
            text = name[at + len(found.group(1)):at + len(found.group(1)) + length]
            return text
        return "(other)"
    return name.split("::")[0].lstrip("<") if "::" in name else "(other)"


def main():
    module = sys.argv[1] if len(sys.argv) > 1 else "target/front/wasm32-unknown-unknown/wasm-release/issues_app.wasm"
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    data = open(module, "rb").read()
    imported, sizes, found = 0, [], None
    for kind, body in sections(data):
        if kind == 2:
            imported = imported_functions(body)
        elif kind == 10:
            sizes = code_sizes(body)
        elif kind == 0:
            found = names(body) or found
    if found is None:
        raise SystemExit(f"{module} has no name section")
    total = sum(sizes)
    by_crate = collections.Counter()
    functions = []
    for offset, size in enumerate(sizes):
        name = found.get(imported + offset, f"function {imported + offset}")
        by_crate[crate_of(name)] += size
        functions.append((size, name))
    print(f"{module}: {len(sizes)} functions, {total / 1024:.0f} KB of code before wasm-opt")
    print(f"by crate (top {top}):")
    for crate, size in by_crate.most_common(top):
        print(f"  {size / 1024:8.1f} KB  {100 * size / total:5.1f}%  {crate}")
    print(f"largest functions (top {top}):")
    for size, name in sorted(functions, reverse=True)[:top]:
        print(f"  {size / 1024:8.1f} KB  {readable(name)[:140]}")


if __name__ == "__main__":
    main()
