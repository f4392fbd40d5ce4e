package manychat

// Family groups endpoints that share one documented rate limit. Manychat
// states a limit per operation without saying whether operations share it;
// the client spends one budget per family, the stricter reading, so it stays
// under the limit either way.
type Family int

// Endpoint families with their documented queries per second.
const (
	FamilyPageRead     Family = iota // page getInfo/getTags/getCustomFields/getBotFields/getGrowthTools/getOtnTopics/getWidgets: 100
	FamilySystemLookup               // subscriber findBySystemField: 50
	FamilySendContent                // sendContent, sendContentByUserRef: 25
	FamilySendFlow                   // sendFlow: 20
	FamilyDefault                    // everything else, writes included: 10
)

var families = []Family{FamilyPageRead, FamilySystemLookup, FamilySendContent, FamilySendFlow, FamilyDefault}

// SendFlowPerSubscriberPerHour is Manychat's documented sendFlow quota per
// subscriber.
const SendFlowPerSubscriberPerHour = 100

// QPS returns the documented queries per second of the family.
func (f Family) QPS() int {
	switch f {
	case FamilyPageRead:
		return 100
	case FamilySystemLookup:
		return 50
	case FamilySendContent:
		return 25
	case FamilySendFlow:
		return 20
	default:
		return 10
	}
}

func (f Family) String() string {
	switch f {
	case FamilyPageRead:
		return "page-read"
	case FamilySystemLookup:
		return "system-lookup"
	case FamilySendContent:
		return "send-content"
	case FamilySendFlow:
		return "send-flow"
	default:
		return "default"
	}
}
