package legacyhash

type saltedParams struct{}

func (c SaltedConfig) params() (saltedParams, error) { return saltedParams{}, nil }

type firebaseParams struct{}

func (c FirebaseConfig) params() (*firebaseParams, error) { return nil, nil }
