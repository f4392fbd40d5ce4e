// Package collections names Playgram's collections and fields, holds the API rules every collection is built
// with, and offers typed record proxies so domain code does not pass field names around as strings.
package collections

import "github.com/pocketbase/pocketbase/tools/types"

// Roles of a workspace member, from most to least powerful.
const (
	RoleOwner   = "owner"
	RoleAdmin   = "admin"
	RoleManager = "manager"
	RoleViewer  = "viewer"
)

// Roles in order of power; index 0 is the strongest.
var Roles = []string{RoleOwner, RoleAdmin, RoleManager, RoleViewer}

// RoleAtLeast reports whether role has at least the power of min.
func RoleAtLeast(role, min string) bool {
	rank := func(r string) int {
		for i, x := range Roles {
			if x == r {
				return i
			}
		}
		return len(Roles)
	}
	return rank(role) <= rank(min)
}

// The rule fragments below are the one place where tenancy and roles are spelled out; every collection's
// rules are composed from them so a change to the model changes every collection at once.
const (
	ruleSignedInUser = "@request.auth.collectionName = 'users'"
	ruleMember       = ruleSignedInUser + " && workspace = @request.auth.workspace"
	ruleManager      = "(@request.auth.role = 'owner' || @request.auth.role = 'admin' || @request.auth.role = 'manager')"
	ruleAdmin        = "(@request.auth.role = 'owner' || @request.auth.role = 'admin')"
	ruleOwner        = "@request.auth.role = 'owner'"
	// New records must be created in the creator's workspace, and records never move between workspaces.
	ruleCreateInOwnWorkspace = "@request.body.workspace = @request.auth.workspace"
	ruleStayInWorkspace      = "(@request.body.workspace:isset = false || @request.body.workspace = @request.auth.workspace)"
)

func roleRule(min string) string {
	switch min {
	case RoleOwner:
		return ruleOwner
	case RoleAdmin:
		return ruleAdmin
	case RoleManager:
		return ruleManager
	}
	return ""
}

// Rules are the five API rules of a collection; nil means superusers only.
type Rules struct {
	List, View, Create, Update, Delete *string
}

// MemberReadOnly lets every member of the owning workspace read; writes happen only in Playgram's own code.
func MemberReadOnly() Rules {
	r := types.Pointer(ruleMember)
	return Rules{List: r, View: r}
}

// AdminReadOnly lets owners and admins of the workspace read (keys, audit log, jobs); nobody writes through the API.
func AdminReadOnly() Rules {
	r := types.Pointer(ruleMember + " && " + ruleAdmin)
	return Rules{List: r, View: r}
}

// WorkspaceData is the common case: members read, writers of at least minWriter create, update and delete,
// always inside their own workspace.
func WorkspaceData(minWriter string) Rules {
	write := ruleSignedInUser + " && " + roleRule(minWriter)
	return Rules{
		List:   types.Pointer(ruleMember),
		View:   types.Pointer(ruleMember),
		Create: types.Pointer(write + " && " + ruleCreateInOwnWorkspace),
		Update: types.Pointer(ruleMember + " && " + roleRule(minWriter) + " && " + ruleStayInWorkspace),
		Delete: types.Pointer(ruleMember + " && " + roleRule(minWriter)),
	}
}
