package routes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxBody caps JSON bodies of /api/v1 routes; larger requests are refused before they are read.
const maxBody = 1 << 20

// readJSON decodes the request body into dst strictly: malformed JSON, a wrong type or an unknown field is a
// 400 naming the field, in PocketBase's error shape.
func readJSON(e *core.RequestEvent, dst any) error {
	_, err := readJSONRaw(e, dst)
	return err
}

// readJSONRaw is readJSON that also returns the raw body, for Idempotency-Key hashing and signatures.
func readJSONRaw(e *core.RequestEvent, dst any) ([]byte, error) {
	raw, err := readBody(e)
	if err != nil {
		return nil, err
	}
	return raw, decodeJSON(e, raw, dst)
}

// readBody returns the raw body, refusing one over maxBody.
func readBody(e *core.RequestEvent) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(e.Request.Body, maxBody+1))
	if err != nil {
		return nil, e.BadRequestError("Could not read the request body.", nil)
	}
	if len(raw) > maxBody {
		return nil, router.NewApiError(413, fmt.Sprintf("The request body is larger than %d bytes.", maxBody), nil)
	}
	return raw, nil
}

// decodeJSON is readJSON for a body already read.
func decodeJSON(e *core.RequestEvent, raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(e, err)
	}
	if dec.More() {
		return e.BadRequestError("The request body must hold a single JSON object.", validation.Errors{"body": validation.NewError("validation_invalid_json", "unexpected data after the JSON object")})
	}
	return nil
}

func jsonError(e *core.RequestEvent, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return e.BadRequestError("The request body must be a JSON object.", validation.Errors{"body": validation.NewError("validation_invalid_json", "must be a JSON object")})
		}
		return fieldError(e, field, "validation_invalid_type", "must be "+jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &syntax):
		return e.BadRequestError("Malformed JSON.", validation.Errors{"body": validation.NewError("validation_invalid_json", fmt.Sprintf("malformed JSON near byte %d", syntax.Offset))})
	case strings.Contains(err.Error(), "unknown field"):
		name := err.Error()
		if i := strings.Index(name, `"`); i >= 0 {
			name = strings.Trim(name[i:], `"`)
		}
		return fieldError(e, name, "validation_unknown_field", "is not a field of this request")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return e.BadRequestError("Malformed JSON.", validation.Errors{"body": validation.NewError("validation_invalid_json", "the JSON ends early")})
	}
	return e.BadRequestError("Malformed JSON.", validation.Errors{"body": validation.NewError("validation_invalid_json", err.Error())})
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	}
	return "of another type"
}

// fieldError is a 400 naming one field, the shape the JS SDK and the dashboard show next to the input.
func fieldError(e *core.RequestEvent, field, code, message string) error {
	return e.BadRequestError("Invalid "+field+": "+message+".", validation.Errors{field: validation.NewError(code, message)})
}

// fieldErrors is a 400 naming several fields at once.
func fieldErrors(e *core.RequestEvent, problems map[string]string) error {
	errs := validation.Errors{}
	for field, msg := range problems {
		errs[field] = validation.NewError("validation_invalid_value", msg)
	}
	return e.BadRequestError("Invalid "+strings.Join(slices.Sorted(maps.Keys(problems)), ", ")+"; see data for each problem.", errs)
}
