// Package docs embeds the reference pages so the server can show them at /docs/.
package docs

import "embed"

// Files are the Markdown reference pages.
//
//go:embed *.md
var Files embed.FS
