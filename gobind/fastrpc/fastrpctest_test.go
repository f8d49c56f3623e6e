// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc_test

// fastrpctest, from the outside, as a user's test uses it.

import (
	"context"
	"testing"

	"fastrpc.dev/gobind/fastrpc"
	"fastrpc.dev/gobind/fastrpc/fastrpctest"
)

func TestModuleFastrpctest(t *testing.T) {
	ts := fastrpctest.NewServer(t)
	fastrpc.HandleTyped(ts.Server, "math.Double", func(ctx context.Context, n *int) (*int, error) {
		r := 2 * *n
		return &r, nil
	})
	var out int
	if err := ts.Client().Invoke(context.Background(), "math.Double", 21, &out); err != nil || out != 42 {
		t.Fatalf("got %d, %v", out, err)
	}
}
