// Package pbpublic embeds the dashboard, so the binary serves it from any working directory.
package pbpublic

import "embed"

// Files are the dashboard's static files.
//
//go:embed index.html
var Files embed.FS
