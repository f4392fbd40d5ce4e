package slug

import "testing"

func TestMake(t *testing.T) {
	for in, want := range map[string]string{
		"Café Löwe":                            "cafe-lowe",
		"  Hello,   World!! ":                  "hello-world",
		"已经":                                   "ws",
		"A very long name indeed that goes on": "a-very-long-name-ind",
		"x":                                    "x",
	} {
		if got := Make(in, 20, "ws"); got != want {
			t.Errorf("Make(%q) = %q, want %q", in, got, want)
		}
	}
}
