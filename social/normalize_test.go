package social

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNormalizeIsLenientAboutActorFields(t *testing.T) {
	n := normalizer{media: func(src string) string { return "proxy:" + src }}
	items := []json.RawMessage{
		json.RawMessage(`{"id":7543693751290481942,"text":"a","createTimeISO":"2025-08-28T17:44:35.000Z","diggCount":"23400","authorMeta":{"name":"greta","fans":51200},"videoMeta":{"coverUrl":"https://cdn/x.jpg","duration":15},"mediaUrls":["https://cdn/v.mp4"],"hashtags":[{"name":"fyp"}]}`),
		json.RawMessage(`{"id":"7543693751290481942","text":"duplicate"}`),
		json.RawMessage(`{"input":"x","note":"failed profile"}`),
		json.RawMessage(`not json`),
	}
	out, found := n.Normalize("tiktok", "posts", items, 10)
	if !found || len(out) != 1 {
		t.Fatalf("found %v, %d items", found, len(out))
	}
	var p Post
	_ = json.Unmarshal(out[0], &p)
	if p.ID != "7543693751290481942" || *p.Likes != 23400 || p.Thumbnail != "proxy:https://cdn/x.jpg" || p.Media[0].URL != "proxy:https://cdn/v.mp4" ||
		p.Hashtags[0] != "fyp" || p.PublishedAt != "2025-08-28T17:44:35Z" {
		t.Fatalf("post = %+v", p)
	}
	if _, found := n.Normalize("instagram", "posts", []json.RawMessage{json.RawMessage(`{"url":"u","error":"not_found"}`)}, 5); found {
		t.Fatal("an error item alone means not found")
	}
	if out, found := n.Normalize("instagram", "posts", nil, 5); !found || len(out) != 0 {
		t.Fatal("an account without posts is found, with no items")
	}
	if _, found := n.Normalize("instagram", "profile", nil, 1); found {
		t.Fatal("a profile needs an item")
	}
	rv, _ := n.Normalize("google", "reviews", []json.RawMessage{json.RawMessage(`{"reviewId":"r1","rating":4.5,"reviewerName":"Ann","text":null}`)}, 5)
	var r Review
	_ = json.Unmarshal(rv[0], &r)
	if *r.Rating != 4.5 || r.Author.Name != "Ann" || r.Text != "" || r.OwnerResponse != nil {
		t.Fatalf("review = %+v", r)
	}
}

func TestNormalizeHandle(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"instagram", "@NatGeo"}:                                                                           "natgeo",
		{"instagram", "https://www.instagram.com/natgeo/?hl=en"}:                                           "natgeo",
		{"tiktok", "https://www.tiktok.com/@Greta.Lynn"}:                                                   "greta.lynn",
		{"google", "ChIJN1t_tDeuEmsRUsoyG83frY4"}:                                                          "ChIJN1t_tDeuEmsRUsoyG83frY4",
		{"google", "https://www.google.com/maps/search/?api=1&query_place_id=ChIJN1t_tDeuEmsRUsoyG83frY4"}: "ChIJN1t_tDeuEmsRUsoyG83frY4",
		{"google", "https://maps.app.goo.gl/abc123"}:                                                       "https://maps.app.goo.gl/abc123",
	} {
		got, err := NormalizeHandle(in[0], in[1])
		if err != nil || got != want {
			t.Errorf("%v: %q %v", in, got, err)
		}
	}
	for _, in := range [][2]string{{"instagram", "a b"}, {"instagram", strings.Repeat("a", 31)}, {"tiktok", "x"}, {"google", "https://evil.example/maps"},
		{"google", "short"}, {"google", "http://user:pw@www.google.com/maps"}, {"myspace", "x"}} {
		if _, err := NormalizeHandle(in[0], in[1]); err == nil {
			t.Errorf("%v accepted", in)
		}
	}
}
