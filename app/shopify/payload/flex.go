package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// FlexString is a string that also accepts JSON numbers and booleans (kept as
// their literal text) and null (""). Shopify uses it where the same field is a
// string in one representation and a number in another: checkout line-item ids
// (hex keys) and note-attribute values.
type FlexString string

// UnmarshalJSON accepts a string, number, boolean or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("flex string: empty value")
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	case 'n':
		*f = ""
	case '{', '[':
		return fmt.Errorf("flex string: got %c, want a scalar", b[0])
	default:
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		switch x := v.(type) {
		case json.Number:
			*f = FlexString(x)
		case bool:
			*f = FlexString(fmt.Sprint(x))
		default:
			return fmt.Errorf("flex string: unexpected %T", v)
		}
	}
	return nil
}
