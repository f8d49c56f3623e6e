// SPDX-License-Identifier: LGPL-2.1-or-later

//go:build race

package fastrpc

// With the race detector, sync.Pool drops a share of what is put back on
// purpose, so allocation counts say nothing about normal builds.
const raceEnabled = true
