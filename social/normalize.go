package social

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Post is the one shape of a post or video, whatever the platform (documented in the README).
type Post struct {
	ID          string   `json:"id"`
	Platform    string   `json:"platform"`
	URL         string   `json:"url"`
	Kind        string   `json:"kind"` // image, video, carousel
	Caption     string   `json:"caption"`
	Hashtags    []string `json:"hashtags"`
	PublishedAt string   `json:"published_at,omitempty"`
	Likes       *int64   `json:"likes"`
	Comments    *int64   `json:"comments"`
	Views       *int64   `json:"views"`
	Shares      *int64   `json:"shares"`
	Thumbnail   string   `json:"thumbnail_url,omitempty"`
	Media       []Media  `json:"media"`
	Author      Author   `json:"author"`
	Pinned      bool     `json:"pinned,omitempty"`
}

// Media is one image or video of a post; URLs are Playgram media proxy URLs.
type Media struct {
	Kind     string  `json:"kind"` // image, video
	URL      string  `json:"url"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Duration float64 `json:"duration_seconds,omitempty"`
}

// Author names who posted.
type Author struct {
	Handle    string `json:"handle"`
	Name      string `json:"name,omitempty"`
	AvatarURL string `json:"avatar_url,omitempty"`
}

// Profile is the one shape of an account.
type Profile struct {
	Platform  string `json:"platform"`
	Handle    string `json:"handle"`
	Name      string `json:"name"`
	Bio       string `json:"bio"`
	Website   string `json:"website,omitempty"`
	URL       string `json:"url"`
	AvatarURL string `json:"avatar_url,omitempty"`
	Followers *int64 `json:"followers"`
	Following *int64 `json:"following"`
	Posts     *int64 `json:"posts"`
	Likes     *int64 `json:"likes,omitempty"`
	Verified  bool   `json:"verified"`
	Private   bool   `json:"private"`
	Business  string `json:"business_category,omitempty"`
}

// Review is the one shape of a review.
type Review struct {
	ID            string         `json:"id"`
	Platform      string         `json:"platform"`
	URL           string         `json:"url,omitempty"`
	Rating        *float64       `json:"rating"`
	Text          string         `json:"text"`
	Language      string         `json:"language,omitempty"`
	PublishedAt   string         `json:"published_at,omitempty"`
	Likes         *int64         `json:"likes"`
	Author        ReviewAuthor   `json:"author"`
	OwnerResponse *OwnerResponse `json:"owner_response"`
	Images        []string       `json:"images"`
	Place         Place          `json:"place"`
}

// ReviewAuthor is who wrote a review.
type ReviewAuthor struct {
	Name       string `json:"name"`
	AvatarURL  string `json:"avatar_url,omitempty"`
	Reviews    *int64 `json:"reviews,omitempty"`
	LocalGuide bool   `json:"local_guide"`
}

// OwnerResponse is the business's answer to a review.
type OwnerResponse struct {
	Text string `json:"text"`
	At   string `json:"at,omitempty"`
}

// Place is the reviewed place, repeated on each review.
type Place struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Address string   `json:"address,omitempty"`
	Rating  *float64 `json:"rating"`
	Reviews *int64   `json:"reviews"`
	URL     string   `json:"url,omitempty"`
}

// raw is a leniently decoded actor item: every field optional, numbers as numbers or strings.
type raw map[string]json.RawMessage

func (r raw) str(k string) string {
	v, ok := r[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

func (r raw) num(k string) *int64 {
	v, ok := r[k]
	if !ok {
		return nil
	}
	var f float64
	if json.Unmarshal(v, &f) == nil {
		n := int64(f)
		return &n
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		var n int64
		if _, err := fmt.Sscan(s, &n); err == nil {
			return &n
		}
	}
	return nil
}

func (r raw) float(k string) *float64 {
	var f float64
	if v, ok := r[k]; ok && json.Unmarshal(v, &f) == nil {
		return &f
	}
	return nil
}

func (r raw) flag(k string) bool {
	var b bool
	_ = json.Unmarshal(r[k], &b)
	return b
}

func (r raw) obj(k string) raw {
	var o raw
	_ = json.Unmarshal(r[k], &o)
	return o
}

func (r raw) list(k string) []raw {
	var l []raw
	_ = json.Unmarshal(r[k], &l)
	return l
}

func (r raw) strs(k string) []string {
	var l []string
	if json.Unmarshal(r[k], &l) == nil {
		return l
	}
	return nil
}

// normalizer turns actor items into the normalized shape; media wraps a source URL into a proxy URL.
type normalizer struct {
	media func(src string) string
}

func (n normalizer) proxy(src string) string {
	if src == "" {
		return ""
	}
	return n.media(src)
}

// errorItem reports whether an item is an actor's "this handle failed" marker rather than data.
func errorItem(r raw) bool {
	return r.str("error") != "" || (r.str("id") == "" && r.str("reviewId") == "" && r.str("username") == "")
}

func (n normalizer) instagramPost(r raw) Post {
	p := Post{ID: r.str("id"), Platform: "instagram", URL: r.str("url"), Caption: r.str("caption"), Hashtags: r.strs("hashtags"),
		PublishedAt: isoTime(r.str("timestamp")), Likes: r.num("likesCount"), Comments: r.num("commentsCount"),
		Views:  firstNum(r.num("videoPlayCount"), r.num("videoViewCount")),
		Author: Author{Handle: r.str("ownerUsername"), Name: r.str("ownerFullName")}, Media: []Media{}}
	if p.Hashtags == nil {
		p.Hashtags = []string{}
	}
	w, h := int(deref(r.num("dimensionsWidth"))), int(deref(r.num("dimensionsHeight")))
	p.Thumbnail = n.proxy(r.str("displayUrl"))
	switch r.str("type") {
	case "Video":
		p.Kind = "video"
		d := r.float("videoDuration")
		m := Media{Kind: "video", URL: n.proxy(r.str("videoUrl")), Width: w, Height: h}
		if d != nil {
			m.Duration = *d
		}
		p.Media = append(p.Media, m)
	case "Sidecar":
		p.Kind = "carousel"
		for _, c := range r.list("childPosts") {
			kind, src := "image", c.str("displayUrl")
			if c.str("type") == "Video" && c.str("videoUrl") != "" {
				kind, src = "video", c.str("videoUrl")
			}
			p.Media = append(p.Media, Media{Kind: kind, URL: n.proxy(src), Width: int(deref(c.num("dimensionsWidth"))), Height: int(deref(c.num("dimensionsHeight")))})
		}
	default:
		p.Kind = "image"
		p.Media = append(p.Media, Media{Kind: "image", URL: p.Thumbnail, Width: w, Height: h})
	}
	return p
}

func (n normalizer) instagramProfile(r raw) Profile {
	avatar := r.str("profilePicUrlHD")
	if avatar == "" {
		avatar = r.str("profilePicUrl")
	}
	return Profile{Platform: "instagram", Handle: r.str("username"), Name: r.str("fullName"), Bio: r.str("biography"),
		Website: r.str("externalUrl"), URL: "https://www.instagram.com/" + r.str("username") + "/", AvatarURL: n.proxy(avatar),
		Followers: r.num("followersCount"), Following: r.num("followsCount"), Posts: r.num("postsCount"),
		Verified: r.flag("verified"), Private: r.flag("private"), Business: r.str("businessCategoryName")}
}

func (n normalizer) tiktokPost(r raw) Post {
	vm, am := r.obj("videoMeta"), r.obj("authorMeta")
	p := Post{ID: r.str("id"), Platform: "tiktok", URL: r.str("webVideoUrl"), Kind: "video", Caption: r.str("text"),
		PublishedAt: isoTime(r.str("createTimeISO")), Likes: r.num("diggCount"), Comments: r.num("commentCount"),
		Views: r.num("playCount"), Shares: r.num("shareCount"), Thumbnail: n.proxy(vm.str("coverUrl")), Pinned: r.flag("isPinned"),
		Author: Author{Handle: am.str("name"), Name: am.str("nickName"), AvatarURL: n.proxy(am.str("avatar"))}, Hashtags: []string{}, Media: []Media{}}
	if p.PublishedAt == "" {
		if ts := r.num("createTime"); ts != nil {
			p.PublishedAt = time.Unix(*ts, 0).UTC().Format(time.RFC3339)
		}
	}
	for _, h := range r.list("hashtags") {
		if name := h.str("name"); name != "" {
			p.Hashtags = append(p.Hashtags, name)
		}
	}
	if r.flag("isSlideshow") {
		p.Kind = "carousel"
	}
	var d float64
	if f := vm.float("duration"); f != nil {
		d = *f
	}
	for _, u := range r.strs("mediaUrls") {
		p.Media = append(p.Media, Media{Kind: "video", URL: n.proxy(u), Width: int(deref(vm.num("width"))), Height: int(deref(vm.num("height"))), Duration: d})
	}
	return p
}

func (n normalizer) tiktokProfile(r raw) Profile {
	am := r.obj("authorMeta")
	return Profile{Platform: "tiktok", Handle: am.str("name"), Name: am.str("nickName"), Bio: am.str("signature"), Website: am.str("bioLink"),
		URL: am.str("profileUrl"), AvatarURL: n.proxy(am.str("avatar")), Followers: am.num("fans"), Following: am.num("following"),
		Posts: am.num("video"), Likes: am.num("heart"), Verified: am.flag("verified"), Private: am.flag("privateAccount")}
}

func (n normalizer) googleReview(r raw) Review {
	rating := r.float("stars")
	if rating == nil {
		rating = r.float("rating")
	}
	rv := Review{ID: r.str("reviewId"), Platform: "google", URL: r.str("reviewUrl"), Rating: rating, Text: r.str("text"),
		Language: r.str("originalLanguage"), PublishedAt: isoTime(r.str("publishedAtDate")), Likes: r.num("likesCount"),
		Author: ReviewAuthor{Name: firstStr(r.str("name"), r.str("reviewerName")), AvatarURL: n.proxy(r.str("reviewerPhotoUrl")),
			Reviews: r.num("reviewerNumberOfReviews"), LocalGuide: r.flag("isLocalGuide")},
		Images: []string{},
		Place: Place{ID: r.str("placeId"), Name: r.str("title"), Address: r.str("address"), Rating: r.float("totalScore"),
			Reviews: r.num("reviewsCount"), URL: r.str("url")}}
	if t := r.str("responseFromOwnerText"); t != "" {
		rv.OwnerResponse = &OwnerResponse{Text: t, At: isoTime(r.str("responseFromOwnerDate"))}
	}
	for _, u := range r.strs("reviewImageUrls") {
		rv.Images = append(rv.Images, n.proxy(u))
	}
	return rv
}

// shapes turn one actor item into its normalized value and the id that deduplicates it.
var shapes = map[string]func(n normalizer, r raw) (any, string){
	"instagram/posts":   func(n normalizer, r raw) (any, string) { p := n.instagramPost(r); return p, p.ID },
	"instagram/profile": func(n normalizer, r raw) (any, string) { p := n.instagramProfile(r); return p, p.Handle },
	"tiktok/posts":      func(n normalizer, r raw) (any, string) { p := n.tiktokPost(r); return p, p.ID },
	"tiktok/profile":    func(n normalizer, r raw) (any, string) { p := n.tiktokProfile(r); return p, p.Handle },
	"google/reviews":    func(n normalizer, r raw) (any, string) { rv := n.googleReview(r); return rv, rv.ID },
}

// Normalize turns a run's items into normalized items for platform and type. found is false when the source
// says the handle does not exist.
func (n normalizer) Normalize(platform, typ string, items []json.RawMessage, limit int) (out []json.RawMessage, found bool) {
	seen := map[string]bool{}
	errorsOnly := len(items) > 0
	for _, it := range items {
		var r raw
		if json.Unmarshal(it, &r) != nil {
			continue
		}
		if errorItem(r) {
			continue
		}
		errorsOnly = false
		shape, ok := shapes[platform+"/"+typ]
		if !ok {
			continue
		}
		v, id := shape(n, r)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		out = append(out, b)
		if len(out) >= limit {
			break
		}
	}
	// Instagram and TikTok mark a missing account with an error item; Google answers no reviews at all for a
	// place id that does not exist. Profiles need exactly one item.
	switch {
	case errorsOnly:
		return nil, false
	case typ == "profile" && len(out) == 0:
		return nil, false
	case platform == "google" && len(items) == 0:
		return nil, false
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return out, true
}

func isoTime(s string) string {
	if s == "" {
		return ""
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return ""
}

func firstNum(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

func firstStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// handleOf lowercases and trims an Instagram or TikTok handle given as @name, name or a profile URL.
func handleOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			s = s[j+1:]
		}
		s = strings.Trim(strings.SplitN(s, "?", 2)[0], "/")
	}
	return strings.ToLower(strings.TrimPrefix(s, "@"))
}
