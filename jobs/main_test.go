package jobs_test

import (
	"os"
	"testing"

	"github.com/playgram/playgram/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.Run(m)) }
