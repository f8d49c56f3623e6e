// SPDX-License-Identifier: LGPL-2.1-or-later

//go:build !race

package fastrpc

const raceEnabled = false
