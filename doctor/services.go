package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxBody bounds what a check reads from a service.
const maxBody = 1 << 20

// get fetches u and wants 200.
func get(ctx context.Context, o Options, u string) error {
	_, err := getBody(ctx, o, u)
	return err
}

// getBody fetches u, wants 200 and returns the body (at most maxBody).
func getBody(ctx context.Context, o Options, u string) ([]byte, error) {
	return send(ctx, o, http.MethodGet, u, "", nil, http.StatusOK)
}

// send makes one request and returns the body when the status is want.
func send(ctx context.Context, o Options, method, u, contentType string, body []byte, want int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	if resp.StatusCode != want {
		return b, &statusError{method: method, url: u, code: resp.StatusCode, status: resp.Status}
	}
	return b, nil
}

// statusError is an answer with another status than the one wanted.
type statusError struct {
	method, url, status string
	code                int
}

func (e *statusError) Error() string { return e.method + " " + e.url + ": " + e.status }

// statusOf returns the HTTP status code of a statusError, 0 otherwise.
func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return 0
}
