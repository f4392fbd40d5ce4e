// Package access_test proves Playgram's tenancy and role policy end to end: every role against every platform
// collection through PocketBase's own collection API and realtime, plus the custom routes that take record ids.
package access_test

import (
	"os"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
)

func TestMain(m *testing.M) {
	code := testutil.Run(m)
	removeSeeded()
	os.Exit(code)
}
