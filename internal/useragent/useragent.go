// Package useragent classifies HTTP User-Agent strings into the coarse
// device type, OS and browser that QR scan analytics report. Hand-written
// rules cover the clients that actually scan Playgram codes (phone cameras
// opening a browser, Instagram's in-app browser, desktops, link-preview
// bots); anything else degrades to "Other" instead of guessing.
package useragent

import "strings"

// Device types.
const (
	TypeMobile  = "mobile"
	TypeTablet  = "tablet"
	TypeDesktop = "desktop"
	TypeBot     = "bot"
	TypeUnknown = "unknown"
)

// Other is reported for an OS or browser no rule recognises.
const Other = "Other"

// Device is what analytics store per scan.
type Device struct {
	Type    string // one of the Type* constants
	OS      string // "iOS", "Android", "Windows", "macOS", "Linux", "ChromeOS" or Other
	Browser string // e.g. "Safari", "Chrome", "Instagram", "Googlebot", or Other
}

// maxLen bounds the work per call: real User-Agents are far shorter, and
// headers are attacker-controlled.
const maxLen = 1024

// bots maps a lower-case token to the name reported as Browser. Order
// matters: the first match wins, so specific names precede generic words.
var bots = []struct{ token, name string }{
	{"googlebot", "Googlebot"},
	{"bingbot", "Bingbot"},
	{"yandexbot", "YandexBot"},
	{"duckduckbot", "DuckDuckBot"},
	{"baiduspider", "Baiduspider"},
	{"applebot", "Applebot"},
	{"facebookexternalhit", "Facebook preview"},
	{"facebookcatalog", "Facebook preview"},
	{"meta-externalagent", "Facebook preview"},
	{"twitterbot", "Twitterbot"},
	{"linkedinbot", "LinkedInBot"},
	{"slackbot", "Slackbot"},
	{"discordbot", "Discordbot"},
	{"telegrambot", "TelegramBot"},
	{"whatsapp/", "WhatsApp preview"},
	{"headlesschrome", "HeadlessChrome"},
	{"curl/", "curl"},
	{"wget/", "Wget"},
	{"python-requests", "python-requests"},
	{"python-urllib", "Python-urllib"},
	{"go-http-client", "Go-http-client"},
	{"okhttp/", "okhttp"},
	{"httpclient", "HttpClient"},
	{"postmanruntime", "Postman"},
	{"crawler", Other},
	{"spider", Other},
	{"scrapy", Other},
}

// genericBot catches the long tail ("AhrefsBot/7.0", "SemrushBot;",
// "+http://example.com/bot.html") without matching phone brands such as
// "CUBOT X30": "bot" must end a token.
func genericBot(l string) bool {
	if strings.Contains(l, "+http") {
		return true
	}
	for i := 0; ; {
		j := strings.Index(l[i:], "bot")
		if j < 0 {
			return false
		}
		end := i + j + 3
		if end == len(l) || strings.IndexByte("/;)-_.", l[end]) >= 0 {
			return true
		}
		i = end
	}
}

// Parse classifies a User-Agent header value.
func Parse(ua string) Device {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Device{Type: TypeUnknown, OS: Other, Browser: Other}
	}
	if len(ua) > maxLen {
		ua = ua[:maxLen]
	}
	l := strings.ToLower(ua)

	os := parseOS(l)
	for _, b := range bots {
		if strings.Contains(l, b.token) {
			return Device{Type: TypeBot, OS: os, Browser: b.name}
		}
	}
	if genericBot(l) {
		return Device{Type: TypeBot, OS: os, Browser: Other}
	}
	return Device{Type: deviceType(l, os), OS: os, Browser: parseBrowser(l)}
}

func parseOS(l string) string {
	switch {
	// iPadOS 13+ Safari claims to be a Mac; its UA cannot be told apart
	// and is reported as macOS, as the browser intends.
	case strings.Contains(l, "iphone"), strings.Contains(l, "ipad"), strings.Contains(l, "ipod"):
		return "iOS"
	case strings.Contains(l, "android"):
		return "Android"
	case strings.Contains(l, "windows"):
		return "Windows"
	case strings.Contains(l, "cros "):
		return "ChromeOS"
	case strings.Contains(l, "macintosh"), strings.Contains(l, "mac os x"):
		return "macOS"
	case strings.Contains(l, "linux"), strings.Contains(l, "x11"):
		return "Linux"
	}
	return Other
}

func deviceType(l, os string) string {
	switch {
	case strings.Contains(l, "ipad"), strings.Contains(l, "tablet"),
		strings.Contains(l, "kindle"), strings.Contains(l, "silk/"):
		return TypeTablet
	case os == "Android":
		// Android phones send "Mobile"; tablets leave it out.
		if strings.Contains(l, "mobile") {
			return TypeMobile
		}
		return TypeTablet
	case os == "iOS", strings.Contains(l, "mobile"), strings.Contains(l, "windows phone"):
		return TypeMobile
	case os == "Windows", os == "macOS", os == "Linux", os == "ChromeOS":
		return TypeDesktop
	}
	return TypeUnknown
}

// browsers are checked in order: in-app browsers, WebViews and Chromium
// derivatives also carry "Chrome" and "Safari" tokens, so they come first.
var browsers = []struct{ token, name string }{
	{"instagram", "Instagram"},
	{"fban/", "Facebook"},
	{"fbav/", "Facebook"},
	{"fb_iab", "Facebook"},
	{"tiktok", "TikTok"},
	{"musical_ly", "TikTok"},
	// Android's system WebView (other apps' in-app browsers) also says
	// "Chrome/", but marks itself with "; wv)".
	{"; wv)", "Android WebView"},
	{"edg/", "Edge"},
	{"edga/", "Edge"},
	{"edgios/", "Edge"},
	{"edge/", "Edge"},
	{"opr/", "Opera"},
	{"opera", "Opera"},
	{"samsungbrowser/", "Samsung Internet"},
	{"yabrowser/", "Yandex Browser"},
	{"ucbrowser/", "UC Browser"},
	{"firefox/", "Firefox"},
	{"fxios/", "Firefox"},
	{"crios/", "Chrome"},
	{"chrome/", "Chrome"},
	{"chromium/", "Chrome"},
	{"msie ", "Internet Explorer"},
	{"trident/", "Internet Explorer"},
}

func parseBrowser(l string) string {
	for _, b := range browsers {
		if strings.Contains(l, b.token) {
			return b.name
		}
	}
	// Safari is what is left of WebKit browsers that say "Safari".
	if strings.Contains(l, "safari/") {
		return "Safari"
	}
	return Other
}
