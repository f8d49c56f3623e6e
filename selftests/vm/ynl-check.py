#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hold uapi/linux/fastrpc.h to Documentation/netlink/specs/fastrpc.yaml.

The header defines the generic netlink numbers by hand, for C and Go users
who never read YAML; the spec is what netlink tools (YNL, fastrpcctl's
tables) read.  This check fails, naming each difference, when a command,
attribute, enum entry, the family name or the multicast group differs in
name or number between the two.  Usage: ynl-check.py [SPEC [HEADER]].
"""
import re
import sys

import yaml


def c_name(prefix, name):
    return (prefix + name).upper().replace('-', '_')


def header_enums(text):
    """Every enum of the header: {enum name: {member: value}}."""
    enums = {}
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    for m in re.finditer(r'enum\s+(\w+)\s*\{(.*?)\};', text, re.S):
        vals, nxt = {}, 0
        for item in m.group(2).split(','):
            item = item.strip()
            if not item:
                continue
            name, _, expr = item.partition('=')
            name = name.strip()
            if expr.strip():
                expr = expr.strip()
                for k, v in vals.items():
                    expr = re.sub(r'\b%s\b' % k, str(v), expr)
                nxt = int(eval(expr, {}, {}))  # numbers and operators only
            vals[name] = nxt
            nxt += 1
        enums[m.group(1)] = vals
    return enums


def defines(text):
    return dict(re.findall(r'#define\s+(\w+)\s+"([^"]*)"', text))


def main():
    spec_path = sys.argv[1] if len(sys.argv) > 1 else 'Documentation/netlink/specs/fastrpc.yaml'
    hdr_path = sys.argv[2] if len(sys.argv) > 2 else 'uapi/linux/fastrpc.h'
    spec = yaml.safe_load(open(spec_path))
    text = open(hdr_path).read()
    enums, strs = header_enums(text), defines(text)
    errs = []

    def expect(enum, want):
        have = enums.get(enum)
        if have is None:
            errs.append('%s: no such enum in %s' % (enum, hdr_path))
            return
        for name, val in want.items():
            if name not in have:
                errs.append('%s: %s is in the spec, not in the header' % (enum, name))
            elif have[name] != val:
                errs.append('%s: %s is %d in the header, %d in the spec' % (enum, name, have[name], val))
        for name, val in have.items():
            # __X_MAX and X_MAX (its last value) are the C side's own
            if name not in want and not name.startswith('__') and '__' + name not in have \
                    and not name.endswith('_UNSPEC'):
                errs.append('%s: %s (%d) is in the header, not in the spec' % (enum, name, val))

    if strs.get('FASTRPC_GENL_NAME') != spec['name']:
        errs.append('family name: header %r, spec %r' % (strs.get('FASTRPC_GENL_NAME'), spec['name']))
    groups = [g['name'] for g in spec['mcast-groups']['list']]
    if [strs.get('FASTRPC_GENL_MCGRP_EVENTS')] != groups:
        errs.append('multicast groups: header %r, spec %r' % (strs.get('FASTRPC_GENL_MCGRP_EVENTS'), groups))

    for d in spec.get('definitions', []):
        if d.get('type') != 'enum':
            continue
        start = d.get('value-start', 0)
        want = {c_name(d['name-prefix'], e if isinstance(e, str) else e['name']): start + i
                for i, e in enumerate(d['entries'])}
        expect(d['enum-name'], want)

    for s in spec['attribute-sets']:
        want, nxt = {}, 1
        for a in s['attributes']:
            nxt = a.get('value', nxt)
            want[c_name(s['name-prefix'], a['name'])] = nxt
            nxt += 1
            if a['type'] == 'nest' and a.get('nested-attributes') not in \
                    [x['name'] for x in spec['attribute-sets']]:
                errs.append('%s.%s: nests an unknown set' % (s['name'], a['name']))
        expect(s['enum-name'], want)
        names = [a['name'] for a in s['attributes']]
        for op in spec['operations']['list']:
            if op.get('attribute-set') != s['name']:
                continue
            for part in ('do', 'dump', 'event'):
                blk = op.get(part) or {}
                lists = [blk.get('attributes', [])] + [blk.get(r, {}).get('attributes', [])
                                                       for r in ('request', 'reply')]
                for lst in lists:
                    for n in lst:
                        if n not in names:
                            errs.append('%s %s: attribute %s is not in set %s' % (op['name'], part, n, s['name']))

    ops = spec['operations']
    want, nxt = {}, 1
    for op in ops['list']:
        nxt = op.get('value', nxt)
        want[c_name(ops['name-prefix'], op['name'])] = nxt
        nxt += 1
        if op.get('mcgrp') and op['mcgrp'] not in groups:
            errs.append('%s: unknown multicast group %s' % (op['name'], op['mcgrp']))
    expect(ops['enum-name'], want)

    for e in errs:
        print('ynl-check: ' + e)
    print('ynl-check: %s against %s: %d difference(s)' % (hdr_path, spec_path, len(errs)))
    return 1 if errs else 0


if __name__ == '__main__':
    sys.exit(main())
