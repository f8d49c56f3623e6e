// SPDX-License-Identifier: LGPL-2.1-or-later

module fastrpc.dev/gobind

go 1.22
