// Package twilio is a local fake of Twilio's Messages API (2010-04-01) for tests and demos, served by
// httptest. It behaves like the real service where Playgram can tell: HTTP basic auth per account, form
// bodies, the same validation order and error codes, 201 with the Message resource JSON, error bodies with
// code, message, more_info and status, 404 for unknown paths, 405 for other methods. Faults (rate limiting,
// server errors) can be injected, and every accepted message is recorded for assertions.
package twilio

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Account is a Twilio account known to the fake: its credentials and the numbers it owns.
type Account struct {
	SID       string
	AuthToken string
	Numbers   []string // E.164 numbers the account may send From
	Services  []string // messaging service SIDs (MG…)
}

// Sent is a message the fake accepted.
type Sent struct {
	SID                 string
	AccountSID          string
	To, From, Body      string
	MessagingServiceSID string
	At                  time.Time
}

// Fault is an injected failure answered instead of handling the next request.
type Fault struct {
	Status     int
	Code       int
	Message    string
	RetryAfter string // Retry-After header value, if any
}

// Fake is the fake server.
type Fake struct {
	*httptest.Server

	mu           sync.Mutex
	accounts     map[string]Account
	sent         []Sent
	faults       []Fault
	unsubscribed map[string]bool
	requests     int
}

// New starts a fake knowing accounts. Close it when done.
func New(accounts ...Account) *Fake {
	f := &Fake{accounts: map[string]Account{}, unsubscribed: map[string]bool{}}
	for _, a := range accounts {
		f.accounts[a.SID] = a
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// NewAccount returns credentials in Twilio's format (AC + 32 hex, a 32-hex token) owning number.
func NewAccount(number string) Account {
	return Account{SID: "AC" + randomHex(16), AuthToken: randomHex(16), Numbers: []string{number}}
}

// FailNext makes the next len(faults) Messages requests fail with these answers, in order.
func (f *Fake) FailNext(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// Unsubscribe marks a recipient as having replied STOP: sends to it fail with 21610.
func (f *Fake) Unsubscribe(number string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unsubscribed[number] = true
}

// Sent returns the accepted messages in order.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// Requests counts every request the fake received, failed ones included.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	messagePath  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages/(SM[0-9a-f]{32})\.json$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()

	var sid, msgSID string
	if m := messagesPath.FindStringSubmatch(r.URL.Path); m != nil {
		sid = m[1]
	} else if m := messagePath.FindStringSubmatch(r.URL.Path); m != nil {
		sid, msgSID = m[1], m[2]
	} else {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	acct, ok := f.authenticate(r, sid)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	switch {
	case msgSID != "" && r.Method == http.MethodGet:
		f.fetch(w, acct, msgSID)
	case msgSID == "" && r.Method == http.MethodPost:
		f.create(w, r, acct)
	case msgSID == "" && r.Method == http.MethodGet:
		f.list(w, acct)
	default:
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

// authenticate checks basic auth against the account named in the path.
func (f *Fake) authenticate(r *http.Request, pathSID string) (Account, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return Account{}, false
	}
	f.mu.Lock()
	acct, known := f.accounts[user]
	f.mu.Unlock()
	if !known || subtle.ConstantTimeCompare([]byte(pass), []byte(acct.AuthToken)) != 1 || user != pathSID {
		return Account{}, false
	}
	return acct, true
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request, acct Account) {
	f.mu.Lock()
	if len(f.faults) > 0 {
		fault := f.faults[0]
		f.faults = f.faults[1:]
		f.mu.Unlock()
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		writeError(w, fault.Status, fault.Code, fault.Message)
		return
	}
	f.mu.Unlock()

	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		// Twilio reads only form bodies; a JSON body arrives as "no parameters".
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid form body")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	service := r.PostForm.Get("MessagingServiceSid")
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "" && r.PostForm.Get("MediaUrl") == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case utf8.RuneCountInString(body) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if service != "" && !contains(acct.Services, service) {
		writeError(w, http.StatusNotFound, 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service))
		return
	}
	if from != "" && !contains(acct.Numbers, from) {
		writeError(w, http.StatusBadRequest, 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
		return
	}
	f.mu.Lock()
	unsub := f.unsubscribed[to]
	f.mu.Unlock()
	if unsub {
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}

	s := Sent{SID: "SM" + randomHex(16), AccountSID: acct.SID, To: to, From: from, Body: body, MessagingServiceSID: service, At: time.Now().UTC()}
	f.mu.Lock()
	f.sent = append(f.sent, s)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, resource(s))
}

func (f *Fake) fetch(w http.ResponseWriter, acct Account, sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sent {
		if s.SID == sid && s.AccountSID == acct.SID {
			writeJSON(w, http.StatusOK, resource(s))
			return
		}
	}
	writeError(w, http.StatusNotFound, 20404, "The requested resource /2010-04-01/Accounts/"+acct.SID+"/Messages/"+sid+".json was not found")
}

func (f *Fake) list(w http.ResponseWriter, acct Account) {
	f.mu.Lock()
	var out []map[string]any
	for i := len(f.sent) - 1; i >= 0; i-- { // newest first, like Twilio
		if f.sent[i].AccountSID == acct.SID {
			out = append(out, resource(f.sent[i]))
		}
	}
	f.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	uri := "/2010-04-01/Accounts/" + acct.SID + "/Messages.json?PageSize=50&Page=0"
	writeJSON(w, http.StatusOK, map[string]any{
		"messages": out, "uri": uri, "first_page_uri": uri, "next_page_uri": nil, "previous_page_uri": nil,
		"page": 0, "page_size": 50, "start": 0, "end": max(len(out)-1, 0),
	})
}

// resource renders a message the way Twilio does: strings for counts, RFC 2822 dates, nulls where unset.
func resource(s Sent) map[string]any {
	date := s.At.Format(time.RFC1123Z)
	uri := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + s.SID + ".json"
	status := "queued"
	var service, from any
	if s.MessagingServiceSID != "" {
		status, service = "accepted", s.MessagingServiceSID
	}
	if s.From != "" {
		from = s.From
	}
	return map[string]any{
		"account_sid":           s.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  s.Body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  from,
		"messaging_service_sid": service,
		"num_media":             "0",
		"num_segments":          strconv.Itoa(Segments(s.Body)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   s.SID,
		"status":                status,
		"subresource_uris":      map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
		"to":                    s.To,
		"uri":                   uri,
	}
}

// Segments is how many SMS parts a body needs: 160/153 characters in GSM-7, 70/67 otherwise.
func Segments(body string) int {
	n := utf8.RuneCountInString(body)
	single, multi := 160, 153
	for _, r := range body {
		if r > 0x7e || (r < 0x20 && r != '\n' && r != '\r') {
			single, multi = 70, 67
			break
		}
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
