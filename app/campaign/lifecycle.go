package campaign

import "fmt"

// Actions on a campaign's lifecycle.
const (
	ActionActivate = "activate"
	ActionPause    = "pause"
	ActionResume   = "resume"
	ActionEnd      = "end"
)

// TransitionError is an action that the campaign's status does not allow
// (the API answers 409).
type TransitionError struct {
	From, Action string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a campaign that is %s", e.Action, e.From)
}

// Transition returns the status after action from status from. changed is
// false when the campaign is already where the action leads (repeating an
// action is harmless: clients retry). Impossible moves (resume an ended
// campaign, pause a draft) return a *TransitionError.
//
//	draft --activate--> active --pause--> paused --resume--> active
//	draft | active | paused --end--> ended (final)
func Transition(from, action string) (to string, changed bool, err error) {
	fail := func() (string, bool, error) { return from, false, &TransitionError{From: from, Action: action} }
	switch action {
	case ActionActivate:
		switch from {
		case StatusDraft:
			return StatusActive, true, nil
		case StatusActive:
			return from, false, nil
		}
	case ActionPause:
		switch from {
		case StatusActive:
			return StatusPaused, true, nil
		case StatusPaused:
			return from, false, nil
		}
	case ActionResume:
		switch from {
		case StatusPaused:
			return StatusActive, true, nil
		case StatusActive:
			return from, false, nil
		}
	case ActionEnd:
		switch from {
		case StatusDraft, StatusActive, StatusPaused:
			return StatusEnded, true, nil
		case StatusEnded:
			return from, false, nil
		}
	}
	return fail()
}
