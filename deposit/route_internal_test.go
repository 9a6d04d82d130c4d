package deposit

import "testing"

func TestShownMatches(t *testing.T) {
	const number = "3520000123456"
	cases := []struct {
		shown string
		want  bool
	}{
		{accountShown("352-****-1234-56"), true},
		{accountShown("352-****-1234-57"), false},
		{accountShown("999-****-1234-56"), false},
		{"3520000123456", true},
		{"3520000123457", false},
		{"*********3456", true},
		{"*********3457", false},
		{"352**", true},
		{"", true},
		{"****", true},
		{"**1234**", false},         // digits only inside the mask
		{"입출금통장(3456)", false},      // not a masked number
		{"352000012345699", false},  // all digits, another length
		{"3520000**0123456", false}, // head and tail longer than the number
	}
	for _, c := range cases {
		if got := shownMatches(c.shown, number); got != c.want {
			t.Errorf("shownMatches(%q, %s) = %v, want %v", c.shown, number, got, c.want)
		}
	}
}
