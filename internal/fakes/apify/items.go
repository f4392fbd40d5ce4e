package apify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Handles starting with NotFoundPrefix do not exist (Instagram answers an error item, TikTok an item without an
// id, Google no reviews); handles starting with FailPrefix make the run end FAILED.
const (
	NotFoundPrefix = "nope"
	FailPrefix     = "fail"
)

var base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// generate builds the dataset of a run from its input, the way the real actors shape their output. Callers
// hold s.mu.
func (s *Server) generate(a *actor, input map[string]any) (items []json.RawMessage, key string, fail bool) {
	media := s.MediaBase
	if media == "" {
		media = s.URL + "/cdn"
	}
	add := func(v any) {
		b, _ := json.Marshal(v)
		items = append(items, b)
	}
	strs := func(k string) []string {
		var out []string
		if l, ok := input[k].([]any); ok {
			for _, x := range l {
				switch v := x.(type) {
				case string:
					out = append(out, v)
				case map[string]any:
					if u, ok := v["url"].(string); ok {
						out = append(out, u)
					}
				}
			}
		}
		return out
	}
	num := func(k string, def int) int {
		if f, ok := input[k].(float64); ok && f > 0 {
			return int(f)
		}
		return def
	}
	var handles []string
	var platform, typ string
	switch a.name {
	case "apify~instagram-scraper":
		platform, typ = "instagram", "posts"
		if input["resultsType"] == "details" {
			typ = "profile"
		}
		for _, u := range strs("directUrls") {
			handles = append(handles, handleFromURL(u))
		}
		limit := min(num("resultsLimit", 10), s.TotalItems)
		for _, h := range handles {
			if strings.HasPrefix(h, NotFoundPrefix) {
				add(map[string]any{"url": "https://www.instagram.com/" + h + "/", "error": "not_found", "errorDescription": "Page not found"})
				continue
			}
			if typ == "profile" {
				add(instagramProfile(h, media))
				continue
			}
			for i := 0; i < limit; i++ {
				add(instagramPost(h, i, media))
			}
		}
	case "clockworks~tiktok-scraper":
		platform, typ = "tiktok", "posts"
		handles = strs("profiles")
		limit := min(num("resultsPerPage", 10), s.TotalItems)
		for _, h := range handles {
			if strings.HasPrefix(h, NotFoundPrefix) {
				add(map[string]any{"input": h, "note": "Profile not found or private", "error": "profile_not_found"})
				continue
			}
			for i := 0; i < limit; i++ {
				add(tiktokVideo(h, i, media))
			}
		}
	case "compass~google-maps-reviews-scraper":
		platform, typ = "google", "reviews"
		handles = append(strs("placeIds"), strs("startUrls")...)
		limit := min(num("maxReviews", 10), s.TotalItems)
		for _, h := range handles {
			h = placeID(h)
			if strings.HasPrefix(h, NotFoundPrefix) {
				continue
			}
			for i := 0; i < limit; i++ {
				add(googleReview(h, i, media))
			}
		}
	}
	for i, h := range handles {
		handles[i] = strings.ToLower(placeID(h))
		if strings.HasPrefix(handles[i], FailPrefix) {
			fail = true
		}
	}
	return items, platform + ":" + strings.Join(sortedKeys(handles), ",") + ":" + typ, fail
}

// placeID takes a place id out of a Google Maps URL with ?query_place_id= or returns s as it is.
func placeID(s string) string {
	if i := strings.Index(s, "query_place_id="); i >= 0 {
		s = s[i+len("query_place_id="):]
		if j := strings.IndexByte(s, '&'); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

func instagramPost(h string, i int, media string) map[string]any {
	id := fmt.Sprintf("37918722380068%05d", int(hash(h)%90000)+i)
	short := fmt.Sprintf("DS%s%03d", strings.ToUpper(h[:min(3, len(h))]), i)
	typ, product := "Image", "feed"
	switch i % 3 {
	case 1:
		typ, product = "Video", "clips"
	case 2:
		typ = "Sidecar"
	}
	p := map[string]any{
		"inputUrl": "https://www.instagram.com/" + h + "/", "id": id, "type": typ, "shortCode": short,
		"caption": fmt.Sprintf("Post %d from %s #playgram #shop%d", i, h, i%4), "hashtags": []string{"playgram", fmt.Sprintf("shop%d", i%4)},
		"mentions": []string{}, "url": "https://www.instagram.com/p/" + short + "/", "commentsCount": 3 + i, "firstComment": "",
		"latestComments": []any{}, "dimensionsHeight": 1080, "dimensionsWidth": 1080,
		"displayUrl": fmt.Sprintf("%s/img/ig-%s-%d.jpg?stp=dst-jpg&_nc_sig=abc", media, h, i), "images": []string{},
		"alt": "Photo by " + h, "likesCount": 100 + 7*i, "timestamp": base.Add(-time.Duration(i) * 26 * time.Hour).Format("2006-01-02T15:04:05.000Z"),
		"childPosts": []any{}, "ownerFullName": strings.ToUpper(h[:1]) + h[1:], "ownerUsername": h, "ownerId": fmt.Sprint(hash(h)),
		"isCommentsDisabled": false, "productType": product, "isSponsored": false,
	}
	if typ == "Video" {
		p["videoUrl"] = fmt.Sprintf("%s/video/ig-%s-%d.mp4", media, h, i)
		p["videoViewCount"] = 1000 + i
		p["videoPlayCount"] = 1500 + i
		p["videoDuration"] = 14.5
	}
	if typ == "Sidecar" {
		p["childPosts"] = []any{
			map[string]any{"id": id + "1", "type": "Image", "displayUrl": fmt.Sprintf("%s/img/ig-%s-%d-a.jpg", media, h, i), "dimensionsWidth": 1080, "dimensionsHeight": 1350},
			map[string]any{"id": id + "2", "type": "Image", "displayUrl": fmt.Sprintf("%s/img/ig-%s-%d-b.jpg", media, h, i), "dimensionsWidth": 1080, "dimensionsHeight": 1350},
		}
	}
	return p
}

func instagramProfile(h, media string) map[string]any {
	return map[string]any{
		"id": fmt.Sprint(hash(h)), "username": h, "fullName": strings.ToUpper(h[:1]) + h[1:], "biography": "We sell things on Instagram. DM to order.",
		"externalUrl": "https://" + h + ".example.com", "followersCount": 12000 + int(hash(h)%1000), "followsCount": 150, "postsCount": 340,
		"highlightReelCount": 4, "isBusinessAccount": true, "businessCategoryName": "Shopping & retail", "private": false, "verified": false,
		"profilePicUrl": fmt.Sprintf("%s/img/ig-avatar-%s.jpg", media, h), "profilePicUrlHD": fmt.Sprintf("%s/img/ig-avatar-hd-%s.jpg", media, h),
	}
}

func tiktokVideo(h string, i int, media string) map[string]any {
	created := base.Add(-time.Duration(i) * 30 * time.Hour)
	id := fmt.Sprintf("75436937512904%05d", int(hash(h)%90000)+i)
	var idValue any = id
	if i%2 == 1 {
		idValue = json.Number(id) // the actor sometimes sends ids as numbers
	}
	return map[string]any{
		"id": idValue, "text": fmt.Sprintf("video %d by %s #fyp", i, h), "textLanguage": "en", "createTime": created.Unix(),
		"createTimeISO": created.Format("2006-01-02T15:04:05.000Z"), "isAd": false, "isPinned": i == 0, "isSlideshow": false, "isSponsored": false,
		"authorMeta": map[string]any{"id": fmt.Sprint(hash(h)), "name": h, "nickName": strings.ToUpper(h[:1]) + h[1:],
			"profileUrl": "https://www.tiktok.com/@" + h, "verified": false, "signature": "Shop in bio", "bioLink": nil,
			"avatar": fmt.Sprintf("%s/img/tt-avatar-%s.jpg", media, h), "privateAccount": false, "following": 269, "fans": 51200, "heart": 3000000, "video": 259, "digg": 194800},
		"musicMeta":   map[string]any{"musicName": "original sound", "musicAuthor": h, "musicOriginal": true, "musicId": "7529403355681147665"},
		"webVideoUrl": "https://www.tiktok.com/@" + h + "/video/" + id, "mediaUrls": []string{fmt.Sprintf("%s/video/tt-%s-%d.mp4", media, h, i)},
		"videoMeta": map[string]any{"height": 1024, "width": 576, "duration": 15, "coverUrl": fmt.Sprintf("%s/img/tt-%s-%d.jpg", media, h, i),
			"originalCoverUrl": fmt.Sprintf("%s/img/tt-orig-%s-%d.jpg", media, h, i), "definition": "540p", "format": "mp4", "subtitleLinks": []any{}},
		"diggCount": 23400 + i, "shareCount": 145, "playCount": 145900 + i, "collectCount": 1637, "commentCount": 46, "repostCount": 0,
		"mentions": []any{}, "detailedMentions": []any{}, "hashtags": []any{map[string]any{"id": "4982299", "name": "fyp", "title": "", "cover": ""}},
		"input": h, "fromProfileSection": "videos",
	}
}

func googleReview(place string, i int, media string) map[string]any {
	var text any = fmt.Sprintf("Review %d: friendly staff and quick service.", i)
	if i%5 == 4 {
		text = nil // star-only review
	}
	r := map[string]any{
		"title": "Amoy Street Food Centre", "placeId": place, "cid": "1416" + fmt.Sprint(hash(place)), "address": "7 Maxwell Rd, Singapore 069111",
		"totalScore": 4.1, "reviewsCount": 5321, "url": "https://www.google.com/maps/place/?q=place_id:" + place,
		"reviewerId": fmt.Sprintf("1023795013979191%05d", i), "reviewerUrl": "https://www.google.com/maps/contrib/102379501397919138214?hl=en",
		"name": fmt.Sprintf("Reviewer %d", i), "reviewerNumberOfReviews": 19, "isLocalGuide": i%2 == 0,
		"reviewerPhotoUrl": fmt.Sprintf("%s/img/g-reviewer-%d.jpg", media, i), "text": text, "textTranslated": nil, "publishAt": "a week ago",
		"publishedAtDate": base.Add(-time.Duration(i) * 50 * time.Hour).Format("2006-01-02T15:04:05.000Z"), "likesCount": i % 3,
		"reviewId": fmt.Sprintf("ChZDSUhNMG9nS0VJQ0FnSUNuNG9ldFZ3%s%03d", place[:min(4, len(place))], i), "reviewUrl": "https://www.google.com/maps/reviews/data=x",
		"reviewOrigin": "Google", "stars": 5 - i%5, "rating": nil, "responseFromOwnerDate": nil, "responseFromOwnerText": nil,
		"reviewImageUrls": []string{}, "reviewContext": map[string]any{"Service": "Dine in"}, "reviewDetailedRating": map[string]any{"Food": 4},
		"visitedIn": nil, "originalLanguage": "en", "translatedLanguage": nil,
	}
	if i%3 == 0 {
		r["responseFromOwnerText"] = "Thank you!"
		r["responseFromOwnerDate"] = base.Add(-time.Duration(i) * 40 * time.Hour).Format("2006-01-02T15:04:05.000Z")
		r["reviewImageUrls"] = []string{fmt.Sprintf("%s/img/g-review-%s-%d.jpg", media, place, i)}
	}
	return r
}
