package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, f *Fake, a Account, form url.Values, contentType string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.URL+"/2010-04-01/Accounts/"+a.SID+"/Messages.json", strings.NewReader(form.Encode()))
	req.SetBasicAuth(a.SID, a.AuthToken)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return res.StatusCode, body
}

func TestMessageResourceAndErrorShapes(t *testing.T) {
	a := NewAccount("+15005550006")
	f := New(a)
	defer f.Close()

	status, msg := post(t, f, a, url.Values{"To": {"+14155550100"}, "From": {"+15005550006"}, "Body": {"Hi"}}, "application/x-www-form-urlencoded")
	if status != 201 || msg["status"] != "queued" || msg["num_segments"] != "1" || msg["error_code"] != nil || msg["price"] != nil ||
		!strings.HasSuffix(msg["uri"].(string), msg["sid"].(string)+".json") || msg["direction"] != "outbound-api" {
		t.Fatalf("created: %d %v", status, msg)
	}
	// The same message can be fetched and is listed, newest first.
	req, _ := http.NewRequest("GET", f.URL+msg["uri"].(string), nil)
	req.SetBasicAuth(a.SID, a.AuthToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("fetch: %v %v", res, err)
	}
	res.Body.Close()

	for _, c := range []struct {
		form url.Values
		code float64
	}{
		{url.Values{"From": {"+15005550006"}, "Body": {"x"}}, 21604},
		{url.Values{"To": {"+14155550100"}, "Body": {"x"}}, 21603},
		{url.Values{"To": {"+14155550100"}, "From": {"+15005550006"}}, 21602},
		{url.Values{"To": {"12"}, "From": {"+15005550006"}, "Body": {"x"}}, 21211},
		{url.Values{"To": {"+14155550100"}, "From": {"+15005550006"}, "Body": {strings.Repeat("x", 1601)}}, 21617},
	} {
		status, body := post(t, f, a, c.form, "application/x-www-form-urlencoded")
		if status != 400 || body["code"] != c.code || body["status"] != 400.0 || body["message"] == "" || !strings.HasSuffix(body["more_info"].(string), fmt.Sprintf("/errors/%d", int(c.code))) {
			t.Errorf("%v: %d %v", c.form, status, body)
		}
	}
	// A JSON body is not read: Twilio sees no parameters.
	if status, body := post(t, f, a, nil, "application/json"); status != 400 || body["code"] != 21604.0 {
		t.Fatalf("json body: %d %v", status, body)
	}
	if len(f.Sent()) != 1 {
		t.Fatalf("refused messages were recorded: %d", len(f.Sent()))
	}
}
