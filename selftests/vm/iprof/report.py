#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Instructions by symbol from iprof windows (selftests/vm/iprof/iprof.c).

    report.py --log SERIAL_LOG --kallsyms-cache FILE [--top N] [--all PREFIX.all]

SERIAL_LOG is a bench guest's console log: it holds the text symbols from
/proc/kallsyms (iprof-mark syms), one "$ fastrpc-bench ARGS" line per run
and the plugin's "iprof: window N: instructions, PREFIX.N" lines. Debian
ships System.map as a stub, so vmlinux's symbols come from the guest too:
a log that has them (the guest booted with iprof.vmlinux=1) refreshes FILE,
otherwise they are read from FILE and shifted by the difference of the two
_text addresses (KASLR; make bench boots with nokaslr anyway). For
each window the report prints the top N symbols by instructions executed in
them (self only: a block counts toward the symbol it starts in), with the
share of all instructions in the window, instructions per call and entries
(executions of a block at the symbol's first address) per call. Calls per
run are (-n + -w) for each transport of -t plus -H's run, from fastrpc-bench's
defaults (-n 10000, -w 1000, -t fastrpc,tcp,unix). Addresses below the
kernel half go to one bucket, [user].
"""
import argparse
import bisect
import collections
import os
import re
import shlex
import sys

USER_TOP = 0x0000800000000000


def read_kallsyms(path):
    """vmlinux text symbols and _text from a kallsyms-format file."""
    syms, text = [], None
    for line in open(path):
        parts = line.split()
        if len(parts) != 3:
            continue
        addr, name = int(parts[0], 16), parts[2]
        if name == '_text':
            text = addr
        syms.append((addr, name))
    return syms, text


def read_log(path):
    """Module symbols, the kernel's _text, run command lines, windows."""
    mods, vmlinux, runs, windows, text = [], [], [], {}, None
    in_syms = False
    for line in open(path, errors='replace'):
        line = line.rstrip('\r\n')
        if line.startswith('FASTRPC-IPROF-SYMS-BEGIN'):
            in_syms, mods, vmlinux = True, [], []
            continue
        if line.startswith('FASTRPC-IPROF-SYMS-END'):
            in_syms = False
            continue
        if in_syms:
            m = re.match(r'([0-9a-f]+) (\w) (\S+)(?:\s+\[(\S+)\])?', line)
            if not m:
                continue
            addr = int(m.group(1), 16)
            if m.group(4):
                mods.append((addr, '%s [%s]' % (m.group(3), m.group(4))))
            else:
                vmlinux.append((addr, m.group(3)))
                if m.group(3) == '_text':
                    text = addr
            continue
        m = re.match(r'\$ fastrpc-bench(.*)', line)
        if m:
            runs.append(m.group(1).strip())
            continue
        m = re.search(r'iprof: window (\d+): (\d+) instructions, (\S+)', line)
        if m:
            windows[int(m.group(1))] = (int(m.group(2)), m.group(3))
    return mods, vmlinux, text, runs, windows


def calls_of(args):
    """Calls a fastrpc-bench command line makes, and how many runs."""
    opts = {'n': 10000, 'w': 1000, 't': 'fastrpc,tcp,unix', 'H': False}
    words = shlex.split(args)
    i = 0
    while i < len(words):
        w = words[i]
        if w == '-H':
            opts['H'] = True
        elif len(w) >= 2 and w[0] == '-' and w[1] in 'nwtscp':
            val = w[2:] or (words[i + 1] if i + 1 < len(words) else '')
            if not w[2:]:
                i += 1
            if w[1] in 'nw':
                opts[w[1]] = int(val, 0)
            elif w[1] == 't':
                opts['t'] = val
        i += 1
    known = ('fastrpc', 'tcp', 'unix')
    runs = len([t for t in opts['t'].split(',') if t in known]) + opts['H']
    return (opts['n'] + opts['w']) * runs, runs


class Symbols:
    def __init__(self, vmlinux, offset, mods):
        syms = sorted([(a + offset, n) for a, n in vmlinux] + mods)
        self.addrs = [a for a, _ in syms]
        self.names = [n for _, n in syms]

    def lookup(self, addr):
        """(name, start address) of the symbol holding addr."""
        if addr < USER_TOP:
            return '[user]', None
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return '[kernel, no symbol]', None
        return self.names[i], self.addrs[i]


def report(path, syms, title, calls, top):
    insns = collections.Counter()
    entries = collections.Counter()
    total = 0
    for line in open(path):
        vaddr, n, count = line.split()
        vaddr, n, count = int(vaddr, 16), int(n), int(count)
        name, start = syms.lookup(vaddr)
        insns[name] += n * count
        if start == vaddr:
            entries[name] += count
        total += n * count
    if not total:
        print('%s: no instructions' % title)
        return
    per = calls or 1
    user = insns['[user]']
    mod = sum(v for k, v in insns.items() if k.endswith('[af_fastrpc]'))
    print('%s' % title)
    print('  %d instructions%s; kernel %.1f%% (af_fastrpc %.1f%%), user %.1f%%'
          % (total, ', %.0f per call (%d calls)' % (total / per, per) if calls else '',
             100.0 * (total - user) / total, 100.0 * mod / total,
             100.0 * user / total))
    print('  %6s %14s %10s %9s  %s' % ('share', 'instructions',
                                      'insns/call' if calls else '',
                                      'entries/call' if calls else 'entries', 'symbol'))
    for name, v in insns.most_common(top):
        print('  %5.1f%% %14d %10s %9s  %s' % (
            100.0 * v / total, v, '%.1f' % (v / per) if calls else '',
            ('%.2f' % (entries[name] / per) if calls else entries[name])
            if name in entries else '-', name))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--log', required=True, help='guest serial log')
    ap.add_argument('--kallsyms-cache', required=True,
                    help="vmlinux's text symbols: written when the log has them, else read")
    ap.add_argument('--top', type=int, default=30)
    ap.add_argument('--calls', type=int, help='calls per window (default: from the command line)')
    ap.add_argument('--all', help='also report this file (the plugin\'s PREFIX.all)')
    a = ap.parse_args()

    mods, vmlinux, text, runs, windows = read_log(a.log)
    offset = 0
    if len(vmlinux) > 1000:
        with open(a.kallsyms_cache + '.tmp', 'w') as f:
            for addr, name in vmlinux:
                f.write('%016x t %s\n' % (addr, name))
        os.replace(a.kallsyms_cache + '.tmp', a.kallsyms_cache)
    elif not os.path.exists(a.kallsyms_cache):
        print('iprof: no vmlinux symbols (neither in %s nor in %s)' % (a.log, a.kallsyms_cache))
    else:
        vmlinux, cache_text = read_kallsyms(a.kallsyms_cache)
        if text is not None and cache_text is not None:
            offset = text - cache_text
    syms = Symbols(vmlinux, offset, mods)
    if not windows:
        print('iprof: no windows in %s' % a.log)
    for nr in sorted(windows):
        _, path = windows[nr]
        args = runs[nr - 1] if nr - 1 < len(runs) else '?'
        calls, nruns = (a.calls, 0) if a.calls else calls_of(args) if args != '?' else (0, 0)
        title = '==== iprof window %d: fastrpc-bench %s' % (nr, args)
        if nruns > 1:
            title += ' (%d transports mixed: per call is per call of any)' % nruns
        print()
        report(path, syms, title + ' ====', calls, a.top)
    if a.all:
        print()
        report(a.all, syms, '==== iprof: everything since QEMU started (boot included) ====', 0, a.top)
    return 0


if __name__ == '__main__':
    sys.exit(main())
