package qrcode

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the Berlin/Tokyo cases must not depend on the host's zoneinfo
	"unicode/utf8"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name     string
		template string
		pos      int
		code     string
		contains string
	}{
		{"empty", "", 1, ErrCodeEmpty, "empty"},
		{"only spaces", "   ", 1, ErrCodeEmpty, "empty"},
		{"too long", strings.Repeat("A", MaxTemplateLen) + "{RANDOM:6}", MaxTemplateLen + 1, ErrCodeTooLong, "longer than"},
		{"unknown variable", "P-{NAME}-{RANDOM:6}", 4, ErrCodeUnknownVar, "{NAME}"},
		{"lower-case variable", "{random:6}", 2, ErrCodeUnknownVar, "{RANDOM}"},
		{"empty braces", "A{}{RANDOM:6}", 3, ErrCodeUnknownVar, "unknown variable {}"},
		{"unclosed at end", "AB{RANDOM:6", 3, ErrCodeUnclosed, "never closed"},
		{"unclosed before next open", "A{RANDOM:6{SEQ:2}", 2, ErrCodeUnclosed, "never closed"},
		{"unopened", "AB}{RANDOM:6}", 3, ErrCodeUnopened, "no matching"},
		{"space in literal", "A B{RANDOM:6}", 2, ErrCodeBadChar, "' '"},
		{"slash in literal", "{RANDOM:6}/X", 11, ErrCodeBadChar, "'/'"},
		{"non-ascii literal", "CAFÉ{RANDOM:6}", 4, ErrCodeBadChar, "'É'"},
		{"random zero", "{RANDOM:0}", 9, ErrCodeBadArg, "1 to 32"},
		{"random too big", "{RANDOM:33}", 9, ErrCodeBadArg, "1 to 32"},
		{"random not a number", "X{RANDOM:six}", 10, ErrCodeBadArg, "\"six\""},
		{"random signed", "X{RANDOM:+6}", 10, ErrCodeBadArg, "\"+6\""},
		{"random missing arg", "X{RANDOM}", 3, ErrCodeBadArg, "needs an argument"},
		{"random empty arg", "X{RANDOM:}", 3, ErrCodeBadArg, "needs an argument"},
		{"seq too big", "{SEQ:13}", 6, ErrCodeBadArg, "1 to 12"},
		{"seq zero", "{SEQ:0}", 6, ErrCodeBadArg, "1 to 12"},
		{"date unknown layout", "{DATE:DDMMYYYY}{SEQ:3}", 7, ErrCodeBadArg, "unknown date layout"},
		{"date lower-case layout", "{DATE:yyyymmdd}{SEQ:3}", 7, ErrCodeBadArg, "unknown date layout"},
		{"prefix with argument", "{PREFIX:x}{RANDOM:6}", 8, ErrCodeBadArg, "takes no argument"},
		{"tag without name", "{TAG}{RANDOM:6}", 2, ErrCodeBadArg, "{TAG:vip}"},
		{"tag name with spaces around", "{TAG: vip}{RANDOM:6}", 6, ErrCodeBadArg, "spaces"},
		{"field name too long", "{FIELD:" + strings.Repeat("x", MaxArgLen+1) + "}{RANDOM:6}", 8, ErrCodeBadArg, "longer than"},
		{"field name with control char", "{FIELD:a\tb}{RANDOM:6}", 9, ErrCodeBadArg, "control"},
		{"no uniqueness", "{PREFIX}-{IG}", 14, ErrCodeNotUnique, "not be unique"},
		{"random too short", "{PREFIX}-{RANDOM:5}", 20, ErrCodeNotUnique, "{RANDOM:6}"},
		{"date alone", "{DATE:YYYYMMDD}", 16, ErrCodeNotUnique, "{SEQ:n}"},
		{"leading separator", "-{RANDOM:6}", 1, ErrCodeBadBoundary, "start"},
		{"trailing separator", "{RANDOM:6}_", 11, ErrCodeBadBoundary, "end"},
		{
			"worst case too long",
			"{PREFIX}{USER_ID}{IG}{FIELD:a}{RANDOM:6}",
			41, ErrCodeTooLong, "can reach 134",
		},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			tpl, err := Parse(s.template)
			if err == nil {
				t.Fatalf("expected an error, got template %v", tpl)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("expected *ParseError, got %T %v", err, err)
			}
			if pe.Pos != s.pos {
				t.Errorf("expected column %d, got %d (%v)", s.pos, pe.Pos, err)
			}
			if pe.Code != s.code {
				t.Errorf("expected code %q, got %q (%v)", s.code, pe.Code, err)
			}
			if !strings.Contains(pe.Message, s.contains) {
				t.Errorf("expected message to contain %q, got %q", s.contains, pe.Message)
			}
		})
	}
}

// fixedRandom feeds render predictable bytes: 0,1,2,... so {RANDOM:n}
// yields the alphabet in order.
type fixedRandom struct{ next byte }

func (f *fixedRandom) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = f.next % byte(len(RandomAlphabet))
		f.next++
	}
	return len(p), nil
}

func TestTemplateRender(t *testing.T) {
	t.Parallel()

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 31 March is already 1 April in Berlin.
	now := time.Date(2024, 3, 31, 23, 30, 0, 0, time.UTC)

	full := Vars{
		Prefix: "shop",
		UserID: "123456789",
		IG:     "john.doe_88",
		Tags:   []string{"VIP", "newsletter"},
		Fields: map[string]string{"city": "São Paulo", "Size": "xl"},
		Seq:    42,
		Now:    now,
	}
	noTags := full
	noTags.Tags = nil
	noPrefix := full
	noPrefix.Prefix = ""
	inBerlin := full
	inBerlin.Location = berlin

	scenarios := []struct {
		name     string
		template string
		vars     Vars
		expected string
	}{
		{"prefix tag random", "{PREFIX}-{TAG:vip}-{RANDOM:6}", full, "SHOP-VIP-234567"},
		{"missing tag collapses the separator", "{PREFIX}-{TAG:vip}-{RANDOM:6}", noTags, "SHOP-234567"},
		{"missing tag at the start", "{TAG:vip}-{PREFIX}-{RANDOM:6}", noTags, "SHOP-234567"},
		{"missing tag at the end", "{PREFIX}-{RANDOM:6}_{TAG:vip}", noTags, "SHOP-234567"},
		{"two missing values in a row", "{RANDOM:6}-{TAG:a}-{TAG:b}-{SEQ:3}", full, "234567-042"},
		{"missing values at the end", "{RANDOM:6}-{TAG:a}_{FIELD:none}", full, "234567"},
		{"missing prefix keeps other separators", "{PREFIX}-{IG}-{RANDOM:6}", noPrefix, "JOHN-DOE_88-234567"},
		{"doubled separators before a missing value at the end", "{RANDOM:6}--{TAG:x}", full, "234567"},
		{"doubled separators in the middle lose one", "A--{TAG:x}--{RANDOM:6}", full, "A---234567"},
		{"empty value between different separators", "A-{TAG:x}_{RANDOM:6}", full, "A-234567"},
		{"empty value next to a value", "{PREFIX}{TAG:x}-{RANDOM:6}", full, "SHOP-234567"},
		{"user id and seq padding", "{USER_ID}-{SEQ:5}", full, "123456789-00042"},
		{"seq longer than padding is not cut", "N{SEQ:1}", Vars{Seq: 12345}, "N12345"},
		{"seq zero", "N{SEQ:4}", Vars{}, "N0000"},
		{"field exact and sanitised", "{FIELD:city}-{RANDOM:6}", full, "S-O-PAULO-234567"},
		{"field case-insensitive fallback", "{FIELD:size}-{RANDOM:6}", full, "XL-234567"},
		{"lower-case literal is upper-cased", "promo-{RANDOM:6}", full, "PROMO-234567"},
		{"date defaults to UTC", "{DATE:YYYYMMDD}-{SEQ:3}", full, "20240331-042"},
		{"date in the tool's zone", "{DATE:YYYYMMDD}-{SEQ:3}", inBerlin, "20240401-042"},
		{"date short layout", "{DATE:YYMMDD}{SEQ:2}", inBerlin, "24040142"},
		{"date dashed layout", "{DATE:YYYY-MM-DD}_{SEQ:2}", inBerlin, "2024-04-01_42"},
		{"date month layout", "{DATE:YYYYMM}{SEQ:2}", full, "20240342"},
		{"tag matched case-insensitively", "{TAG:newsLetter}-{RANDOM:6}", full, "NEWSLETTER-234567"},
		{"value cut to MaxValueLen", "{IG}-{RANDOM:6}", Vars{IG: strings.Repeat("ab", 40)}, strings.Repeat("AB", MaxValueLen/2) + "-234567"},
		{"emoji-only value counts as empty", "{PREFIX}-{IG}-{RANDOM:6}", Vars{Prefix: "p", IG: "🎉🎉"}, "P-234567"},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			tpl, err := Parse(s.template)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tpl.render(s.vars, &fixedRandom{})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got != s.expected {
				t.Fatalf("expected %q, got %q", s.expected, got)
			}
		})
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name     string
		template string
		vars     Vars
		contains string
	}{
		{"negative seq", "X{SEQ:3}", Vars{Seq: -1}, "negative"},
		{"date without time", "{DATE:YYYY}{SEQ:3}", Vars{}, "no time"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			tpl, err := Parse(s.template)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Render(s.vars)
			if err == nil || !strings.Contains(err.Error(), s.contains) {
				t.Fatalf("expected error containing %q, got %v", s.contains, err)
			}
		})
	}

	tpl, err := Parse("X{RANDOM:6}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.render(Vars{}, bytes.NewReader(nil)); err == nil {
		t.Fatal("expected an error when randomness runs out")
	}
}

func TestUsesSeq(t *testing.T) {
	t.Parallel()

	for template, expected := range map[string]bool{
		"{SEQ:4}":              true,
		"A{RANDOM:6}{SEQ:2}":   true,
		"{RANDOM:6}":           false,
		"{RANDOM:3}{RANDOM:3}": false,
	} {
		tpl, err := Parse(template)
		if err != nil {
			t.Fatalf("%s: %v", template, err)
		}
		if tpl.UsesSeq() != expected {
			t.Errorf("%s: expected UsesSeq %v", template, expected)
		}
		if tpl.String() != template {
			t.Errorf("String() = %q, expected %q", tpl.String(), template)
		}
	}
}

func TestSanitizeValue(t *testing.T) {
	t.Parallel()

	scenarios := map[string]string{
		"":                             "",
		"john.doe":                     "JOHN-DOE",
		"john_doe":                     "JOHN_DOE",
		"  spaced  out  ":              "SPACED-OUT",
		"a__b":                         "A_B",
		"a _b":                         "A-B",
		"--x--":                        "X",
		"Café 42":                      "CAF-42",
		"😀":                            "",
		"ab😀cd":                        "AB-CD",
		"../../etc/passwd":             "ETC-PASSWD",
		"<script>":                     "SCRIPT",
		"%2F%2e":                       "2F-2E",
		strings.Repeat("a", 40):        strings.Repeat("A", MaxValueLen),
		strings.Repeat("a", 31) + "-b": strings.Repeat("A", 31),
	}
	for in, expected := range scenarios {
		if got := SanitizeValue(in); got != expected {
			t.Errorf("SanitizeValue(%q) = %q, expected %q", in, got, expected)
		}
	}
}

func TestValidAndNormalizeCode(t *testing.T) {
	t.Parallel()

	valid := []string{"A", "ABC-123", "X_Y", strings.Repeat("Z", MaxCodeLen)}
	invalid := []string{"", "abc", "-A", "A-", "_A", "A B", "A/B", "Ä", strings.Repeat("Z", MaxCodeLen+1)}
	for _, s := range valid {
		if !ValidCode(s) {
			t.Errorf("ValidCode(%q) = false", s)
		}
	}
	for _, s := range invalid {
		if ValidCode(s) {
			t.Errorf("ValidCode(%q) = true", s)
		}
	}
	if got := NormalizeCode("  shop-ab12 \n"); got != "SHOP-AB12" {
		t.Errorf("NormalizeCode = %q", got)
	}
}

func TestRandomAlphabet(t *testing.T) {
	t.Parallel()

	if strings.ContainsAny(RandomAlphabet, "0O1IL") {
		t.Fatal("alphabet contains an ambiguous character")
	}
	// Every byte value once: bytes at or above the rejection limit must be
	// skipped, the rest spread evenly over the alphabet.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	limit := 256 - 256%len(RandomAlphabet)
	got, err := randomString(bytes.NewReader(append(all, all...)), limit)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[byte]int{}
	for _, c := range got {
		counts[c]++
	}
	if len(counts) != len(RandomAlphabet) {
		t.Fatalf("expected all %d symbols, got %d", len(RandomAlphabet), len(counts))
	}
	for c, n := range counts {
		if n != limit/len(RandomAlphabet) {
			t.Errorf("symbol %q drawn %d times, expected %d (biased)", c, n, limit/len(RandomAlphabet))
		}
	}
}

func TestRandomCodesAreDistinct(t *testing.T) {
	t.Parallel()

	// 31^10 possibilities: the chance of any collision in 5000 draws is
	// about 1.5e-8, so a duplicate means broken randomness.
	tpl, err := Parse("{PREFIX}-{RANDOM:10}")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, 5000)
	for i := 0; i < 5000; i++ {
		code, err := tpl.Render(Vars{Prefix: "P"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("duplicate code %q after %d renders", code, i)
		}
		seen[code] = true
	}
}

// randomTemplate builds templates from valid and invalid pieces so both
// the accepting and rejecting paths are exercised.
func randomTemplate(r *rand.Rand) string {
	pieces := []string{
		"{PREFIX}", "{USER_ID}", "{IG}", "{TAG:vip}", "{TAG:Summer Sale}", "{FIELD:city}",
		"{RANDOM:4}", "{RANDOM:6}", "{RANDOM:12}", "{SEQ:3}", "{SEQ:12}", "{DATE:YYMMDD}",
		"{DATE:YYYY-MM-DD}", "-", "_", "A", "qr", "2024", "{", "}", "{BAD}", " ", "é",
	}
	var b strings.Builder
	for n := 1 + r.IntN(8); n > 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randomText(r *rand.Rand) string {
	runes := []rune("aZ09-_. é😀/\\%{}'\"\x00\t")
	var b strings.Builder
	for n := r.IntN(50); n > 0; n-- {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func randomVars(r *rand.Rand) Vars {
	v := Vars{
		Prefix: randomText(r),
		UserID: randomText(r),
		IG:     randomText(r),
		Fields: map[string]string{"city": randomText(r)},
		Seq:    r.Int64(),
		Now:    time.Unix(r.Int64N(4e9), 0),
	}
	if r.IntN(2) == 0 {
		v.Tags = []string{"VIP", "summer sale"}
	}
	return v
}

func TestRenderPropertyOutputIsAlwaysAValidCode(t *testing.T) {
	t.Parallel()

	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := 0; i < 20000; i++ {
		src := randomTemplate(r)
		tpl, err := Parse(src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 1 || pe.Pos > len(src)+1 && pe.Pos != MaxTemplateLen+1 {
				t.Fatalf("%q: bad error %#v", src, err)
			}
			continue
		}
		accepted++
		for j := 0; j < 3; j++ {
			code, err := tpl.Render(randomVars(r))
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			if !ValidCode(code) {
				t.Fatalf("%q rendered invalid code %q", src, code)
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("generator produced only %d valid templates; the property is barely exercised", accepted)
	}
}

func TestRenderPropertyLiteralRoundTrip(t *testing.T) {
	t.Parallel()

	const alphabet = "abcXYZ0189-_"
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		n := 1 + r.IntN(40)
		lit := make([]byte, n)
		for k := range lit {
			lit[k] = alphabet[r.IntN(len(alphabet))]
		}
		lit[0], lit[n-1] = 'q', 'Z' // a code never starts or ends with a separator
		literal := string(lit)

		tpl, err := Parse(literal + "{SEQ:4}" + literal)
		if err != nil {
			t.Fatalf("%q: %v", literal, err)
		}
		seq := r.Int64N(10000)
		code, err := tpl.Render(Vars{Seq: seq})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ToUpper(literal) + leftPad(seq, 4) + strings.ToUpper(literal)
		if code != want {
			t.Fatalf("expected %q, got %q", want, code)
		}
	}
}

func leftPad(n int64, width int) string {
	s := []byte{}
	for ; n > 0; n /= 10 {
		s = append([]byte{byte('0' + n%10)}, s...)
	}
	for len(s) < width {
		s = append([]byte{'0'}, s...)
	}
	return string(s)
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"{PREFIX}-{TAG:vip}-{RANDOM:6}", "{DATE:YYYYMMDD}-{SEQ:5}", "{USER_ID}{IG}{RANDOM:8}",
		"{FIELD:city}_{RANDOM:3}{RANDOM:3}", "{", "}", "{RANDOM:999}", "{TAG:a:b}{SEQ:1}", "é{SEQ:1}",
	} {
		f.Add(seed, "p", "john.doe", "São Paulo", int64(7))
	}
	f.Fuzz(func(t *testing.T, src, prefix, ig, field string, seq int64) {
		tpl, err := Parse(src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, not *ParseError", err)
			}
			if pe.Pos < 1 || pe.Pos > max(len(src)+1, MaxTemplateLen+1) {
				t.Fatalf("position %d outside the template of %d bytes", pe.Pos, len(src))
			}
			if pe.Message == "" || !utf8.ValidString(pe.Code) {
				t.Fatal("error without message")
			}
			return
		}
		if seq < 0 {
			seq = -(seq + 1)
		}
		code, err := tpl.Render(Vars{
			Prefix: prefix, IG: ig, UserID: prefix + ig,
			Tags:   []string{field},
			Fields: map[string]string{field: ig, "city": field},
			Seq:    seq,
			Now:    time.Unix(1700000000, 0),
		})
		if err != nil {
			t.Fatalf("Render of accepted template %q: %v", src, err)
		}
		if !ValidCode(code) {
			t.Fatalf("template %q rendered invalid code %q", src, code)
		}
	})
}
