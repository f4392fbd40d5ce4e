package dynblock

// Limits is what one channel accepts. The counts of messages, quick replies
// and actions and the type matrix are Manychat's documented rules; the
// length, button and card limits are the ones Meta documents for Instagram
// and Messenger (Manychat documents none, so they are the platform's, and a
// reply over them is dropped or truncated by Instagram). A zero limit means
// "not checked".
type Limits struct {
	MaxMessages     int
	MaxQuickReplies int // 0: quick replies not allowed on the channel
	MaxActions      int

	MaxTextBytes       int // UTF-8 bytes of a text message (Instagram counts bytes)
	MaxTextRunes       int // characters of a text message (Messenger counts characters)
	MaxButtonTextRunes int // characters of a text message that carries buttons (a button template)
	MaxButtons         int // per message or card
	MaxCaptionRunes    int // button and quick reply captions
	MaxCardElements    int
	MaxCardTitleRunes  int
	MaxCardSubRunes    int

	MessageTypes    map[MessageType]bool
	ButtonTypes     map[ButtonType]bool
	QuickReplyTypes map[ButtonType]bool
	WebviewSize     bool // whether url buttons may set webview_size
}

// Manychat's documented maxima, the same on every channel.
const (
	MaxMessages     = 10
	MaxQuickReplies = 11
	MaxActions      = 5
)

func set[T comparable](xs ...T) map[T]bool {
	m := make(map[T]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// LimitsFor returns the limits of a channel; an unknown channel gets
// Instagram's, the strictest.
func LimitsFor(ch Channel) Limits {
	switch ch {
	case Messenger:
		return Limits{
			MaxMessages: MaxMessages, MaxQuickReplies: MaxQuickReplies, MaxActions: MaxActions,
			MaxTextRunes: 2000, MaxButtonTextRunes: 640, MaxButtons: 3, MaxCaptionRunes: 20,
			MaxCardElements: 10, MaxCardTitleRunes: 80, MaxCardSubRunes: 80,
			MessageTypes:    set(TypeText, TypeImage, TypeVideo, TypeAudio, TypeFile, TypeCards),
			ButtonTypes:     set(ButtonURL, ButtonFlow, ButtonNode, ButtonCall, ButtonBuy, ButtonCallback),
			QuickReplyTypes: set(ButtonNode, ButtonFlow, ButtonCallback),
			WebviewSize:     true,
		}
	case WhatsApp:
		return Limits{
			MaxMessages: MaxMessages, MaxActions: MaxActions,
			MaxTextRunes: 4096, MaxButtonTextRunes: 1024, MaxButtons: 3, MaxCaptionRunes: 20,
			MessageTypes: set(TypeText, TypeImage),
			ButtonTypes:  set(ButtonURL, ButtonFlow, ButtonNode),
		}
	case Telegram:
		return Limits{
			MaxMessages: MaxMessages, MaxActions: MaxActions,
			MaxTextRunes: 4096, MaxButtonTextRunes: 4096, MaxButtons: 3,
			MessageTypes: set(TypeText, TypeImage, TypeVideo, TypeAudio, TypeFile),
			ButtonTypes:  set(ButtonURL, ButtonFlow, ButtonNode, ButtonBuy),
		}
	default:
		return Limits{
			MaxMessages: MaxMessages, MaxQuickReplies: MaxQuickReplies, MaxActions: MaxActions,
			MaxTextBytes: 1000, MaxButtonTextRunes: 640, MaxButtons: 3, MaxCaptionRunes: 20,
			MaxCardElements: 10, MaxCardTitleRunes: 80, MaxCardSubRunes: 80,
			MessageTypes:    set(TypeText, TypeImage, TypeCards),
			ButtonTypes:     set(ButtonURL, ButtonFlow, ButtonNode, ButtonBuy),
			QuickReplyTypes: set(ButtonNode, ButtonFlow),
		}
	}
}

// textFits reports whether s fits a text message, with or without buttons.
func (l Limits) textFits(s string, withButtons bool) bool {
	if l.MaxTextBytes > 0 && len(s) > l.MaxTextBytes {
		return false
	}
	n := runeCount(s)
	if l.MaxTextRunes > 0 && n > l.MaxTextRunes {
		return false
	}
	if withButtons && l.MaxButtonTextRunes > 0 && n > l.MaxButtonTextRunes {
		return false
	}
	return true
}
