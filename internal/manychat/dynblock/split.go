package dynblock

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func runeCount(s string) int { return utf8.RuneCountInString(s) }

// SplitText cuts text into chunks that each fit maxBytes UTF-8 bytes and
// maxRunes characters (0 = no limit of that kind), preferring to cut at a
// paragraph break, then a line break, then the end of a sentence, then a
// space, and only as a last resort inside a word. It never cuts inside a
// UTF-8 sequence or between a character and the combining marks, variation
// selectors or zero-width joiners that follow it, so emoji survive. Chunks
// are trimmed of surrounding whitespace; empty input gives no chunks.
func SplitText(text string, maxBytes, maxRunes int) []string {
	var out []string
	rest := strings.TrimSpace(text)
	for rest != "" {
		end := longestFit(rest, maxBytes, maxRunes)
		if end == len(rest) {
			out = append(out, rest)
			break
		}
		cut := bestBreak(rest, end)
		out = append(out, strings.TrimSpace(rest[:cut]))
		rest = strings.TrimSpace(rest[cut:])
	}
	return out
}

// longestFit returns the byte length of the longest prefix of s that ends on
// a cluster boundary and fits both limits. It is at least one cluster long so
// splitting always makes progress, even if one cluster alone is over.
func longestFit(s string, maxBytes, maxRunes int) int {
	fit, runes := 0, 0
	for fit < len(s) {
		end, n := clusterEnd(s, fit)
		if (maxBytes > 0 && end > maxBytes) || (maxRunes > 0 && runes+n > maxRunes) {
			if fit == 0 {
				return end
			}
			break
		}
		fit, runes = end, runes+n
	}
	return fit
}

// clusterEnd returns where the character cluster starting at i ends (after
// its combining marks, variation selectors and zero-width-joined parts) and
// how many runes it has.
func clusterEnd(s string, i int) (end, runes int) {
	for end = i; end < len(s); runes++ {
		r, size := utf8.DecodeRuneInString(s[end:])
		if end > i && !joins(r) && lastRune(s[:end]) != zwj {
			break
		}
		end += size
	}
	return end, runes
}

const zwj = '\u200d'

// joins reports whether r continues the previous character's cluster.
func joins(r rune) bool {
	return r == zwj || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) ||
		(r >= 0xFE00 && r <= 0xFE0F) || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F)
}

// bestBreak returns where to cut s given that s[:end] is the longest prefix
// that fits: at the last paragraph break, line break, sentence end or space
// at or before end, in that order of preference, as long as the chunk keeps
// at least a third of the room; otherwise at end (a cut inside a word).
// Whitespace at the cut is trimmed by the caller.
func bestBreak(s string, end int) int {
	window := s[:end]
	if end < len(s) {
		window = s[:end+1] // whitespace right after the fit is a break at end
	}
	minKeep := end / 3
	for _, sep := range []string{"\n\n", "\n"} {
		if i := strings.LastIndex(window, sep); i > 0 && i >= minKeep {
			return i
		}
	}
	for i := len(window) - 1; i > 0 && i >= minKeep; i-- {
		if (window[i] == ' ' || window[i] == '\t') && strings.ContainsRune(".!?…", lastRune(window[:i])) {
			return i
		}
	}
	for i := len(window) - 1; i > 0 && i >= minKeep; i-- {
		if window[i] == ' ' || window[i] == '\t' {
			return i
		}
	}
	return end
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}
