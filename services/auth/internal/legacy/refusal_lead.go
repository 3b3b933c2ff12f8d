package legacy

// Refusal is a connector's "no" (placeholder until the contract branch lands).
type Refusal struct {
	LegacyID string
}

func (r *Refusal) Error() string        { return "legacy: credentials rejected" }
func (r *Refusal) Is(target error) bool { return target == ErrRejected }
