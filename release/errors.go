package release

import (
	"errors"
	"fmt"
)

// Stage is the part of a release an error comes from.
type Stage int

// The stages, in the order a release runs them.
const (
	// StageNone is the stage of an error that was not tagged.
	StageNone Stage = iota
	// StageUsage is bad input: options, references, files, environment.
	StageUsage
	// StageBuild is building and pushing the image.
	StageBuild
	// StageSign is preparing the signer and signing.
	StageSign
	// StageVerify is loading the verifier and verifying.
	StageVerify
	// StageTag is pointing the tags at the signed and verified digest.
	StageTag
)

func (s Stage) String() string {
	switch s {
	case StageUsage:
		return "usage"
	case StageBuild:
		return "build"
	case StageSign:
		return "sign"
	case StageVerify:
		return "verify"
	case StageTag:
		return "tag"
	}
	return "none"
}

// Error is an error tagged with the stage it comes from.
type Error struct {
	Stage Stage
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// StageError tags err with stage s; nil stays nil. An error already tagged
// keeps its stage.
func StageError(s Stage, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Stage: s, Err: err}
}

// Usagef returns a usage error formatted as fmt.Errorf does.
func Usagef(format string, a ...any) error {
	return &Error{Stage: StageUsage, Err: fmt.Errorf(format, a...)}
}

// StageOf returns the stage err is tagged with, StageNone when untagged.
func StageOf(err error) Stage {
	var e *Error
	if errors.As(err, &e) {
		return e.Stage
	}
	return StageNone
}
