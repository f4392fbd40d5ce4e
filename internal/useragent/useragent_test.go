package useragent

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name     string
		ua       string
		expected Device
	}{
		{
			"iPhone Safari",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
			Device{TypeMobile, "iOS", "Safari"},
		},
		{
			"iPhone Chrome",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
			Device{TypeMobile, "iOS", "Chrome"},
		},
		{
			"iPhone Instagram in-app",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 307.0.0.34.111 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 531425451)",
			Device{TypeMobile, "iOS", "Instagram"},
		},
		{
			"Android Instagram in-app",
			"Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram 312.1.0.34.111 Android (34/14; 480dpi; 1080x2340; samsung; SM-S911B; dm1q; qcom; en_GB; 548323757)",
			Device{TypeMobile, "Android", "Instagram"},
		},
		{
			"iPhone Facebook in-app",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
			Device{TypeMobile, "iOS", "Facebook"},
		},
		{
			"Android Chrome",
			"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			Device{TypeMobile, "Android", "Chrome"},
		},
		{
			"Android WebView",
			"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36",
			Device{TypeMobile, "Android", "Android WebView"},
		},
		{
			"Samsung Internet",
			"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			Device{TypeMobile, "Android", "Samsung Internet"},
		},
		{
			"Android Firefox",
			"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
			Device{TypeMobile, "Android", "Firefox"},
		},
		{
			"phone brand containing bot",
			"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
			Device{TypeMobile, "Android", "Chrome"},
		},
		{
			"iPad Safari",
			"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			Device{TypeTablet, "iOS", "Safari"},
		},
		{
			"Android tablet Chrome",
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Device{TypeTablet, "Android", "Chrome"},
		},
		{
			"Kindle Fire Silk",
			"Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.224 Safari/537.36",
			Device{TypeTablet, "Android", "Chrome"},
		},
		{
			"Windows Chrome",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Device{TypeDesktop, "Windows", "Chrome"},
		},
		{
			"Windows Edge",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
			Device{TypeDesktop, "Windows", "Edge"},
		},
		{
			"Windows Firefox",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
			Device{TypeDesktop, "Windows", "Firefox"},
		},
		{
			"Windows Opera",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
			Device{TypeDesktop, "Windows", "Opera"},
		},
		{
			"Internet Explorer 11",
			"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
			Device{TypeDesktop, "Windows", "Internet Explorer"},
		},
		{
			"macOS Safari",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
			Device{TypeDesktop, "macOS", "Safari"},
		},
		{
			"macOS Chrome",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Device{TypeDesktop, "macOS", "Chrome"},
		},
		{
			"Linux Firefox",
			"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			Device{TypeDesktop, "Linux", "Firefox"},
		},
		{
			"ChromeOS",
			"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Device{TypeDesktop, "ChromeOS", "Chrome"},
		},
		{
			"Googlebot",
			"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Device{TypeBot, Other, "Googlebot"},
		},
		{
			"Googlebot smartphone",
			"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Device{TypeBot, "Android", "Googlebot"},
		},
		{
			"Instagram link preview",
			"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			Device{TypeBot, Other, "Facebook preview"},
		},
		{
			"WhatsApp link preview",
			"WhatsApp/2.23.20.0 A",
			Device{TypeBot, Other, "WhatsApp preview"},
		},
		{
			"unknown crawler with contact url",
			"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
			Device{TypeBot, Other, Other},
		},
		{
			"curl",
			"curl/8.4.0",
			Device{TypeBot, Other, "curl"},
		},
		{
			"Go client",
			"Go-http-client/1.1",
			Device{TypeBot, Other, "Go-http-client"},
		},
		{
			"headless Chrome",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
			Device{TypeBot, "Linux", "HeadlessChrome"},
		},
		{"empty", "", Device{TypeUnknown, Other, Other}},
		{"blank", "   ", Device{TypeUnknown, Other, Other}},
		{"garbage", "hello world", Device{TypeUnknown, Other, Other}},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if got := Parse(s.ua); got != s.expected {
				t.Fatalf("expected %+v, got %+v", s.expected, got)
			}
		})
	}
}

func TestParseBoundsWork(t *testing.T) {
	t.Parallel()

	// A rule token beyond the first maxLen bytes is not looked at, so a
	// huge header cannot make Parse scan megabytes.
	ua := "Mozilla/5.0 (Windows NT 10.0) " + strings.Repeat("x", 2*maxLen) + " Googlebot/2.1"
	if got := Parse(ua); got.Type != TypeDesktop || got.OS != "Windows" {
		t.Fatalf("expected the cut header to read as a Windows desktop, got %+v", got)
	}
}

func BenchmarkParse(b *testing.B) {
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 307.0.0.34.111 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 531425451)"
	for b.Loop() {
		Parse(ua)
	}
}
