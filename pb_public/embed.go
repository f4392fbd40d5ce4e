// Package pbpublic embeds the dashboard, so the binary serves it from any working directory.
//
// `make build` builds ui/ into dist/ (ignored by git) before `go build`; without that build (no Node, or a
// plain `go build`/`go test`) dist/ holds only .keep and the small placeholder index.html is served instead.
package pbpublic

import (
	"embed"
	"io/fs"
)

//go:embed index.html all:dist
var embedded embed.FS

// Files are the dashboard's static files: the built dashboard when there is one, else the placeholder page.
var Files fs.FS = pick(embedded)

// Built reports whether the binary carries the built dashboard rather than the placeholder.
var Built bool

func pick(root fs.FS) fs.FS {
	if _, err := fs.Stat(root, "dist/index.html"); err == nil {
		if sub, err := fs.Sub(root, "dist"); err == nil {
			Built = true
			return sub
		}
	}
	return root
}
