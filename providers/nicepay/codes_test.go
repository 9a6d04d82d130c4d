package nicepay_test

import (
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		op, code string
		ok       bool
		kind     providers.Kind
		decline  providers.DeclineReason
	}{
		{"Approve", "0000", true, 0, ""},
		{"IssueBillingKey", "F100", true, 0, ""},
		{"DeleteBillingKey", "F101", true, 0, ""},
		{"Cancel", "2001", true, 0, ""},
		{"Cancel", "2211", true, 0, ""},
		{"Approve", "2001", false, providers.KindInvalidRequest, ""}, // a cancel code is no approval
		{"Approve", "3011", false, providers.KindDeclined, providers.DeclineInvalidCard},
		{"ChargeBillingKey", "3021", false, providers.KindDeclined, providers.DeclineExpiredCard},
		{"Approve", "3024", false, providers.KindDeclined, providers.DeclineInvalidInstallment},
		{"Approve", "3095", false, providers.KindDeclined, providers.DeclineOther},
		{"Approve", "3099", false, providers.KindDeclined, providers.DeclineOther}, // card family
		{"Approve", "A123", false, providers.KindInvalidRequest, ""},
		{"Approve", "A127", false, providers.KindAlreadyDone, ""},
		{"Lookup", "A118", false, providers.KindNotFound, ""},
		{"ChargeBillingKey", "A124", false, providers.KindNotFound, ""},
		{"DeleteBillingKey", "A126", false, providers.KindNotFound, ""},
		{"Approve", "A101", false, providers.KindUnauthorized, ""},
		{"Lookup", "A224", false, providers.KindUnauthorized, ""},
		{"Cancel", "2013", false, providers.KindAlreadyDone, ""},
		{"Cancel", "2016", false, providers.KindInvalidRequest, ""},
		{"Cancel", "2028", false, providers.KindInvalidRequest, ""},
		{"Cancel", "2029", false, providers.KindInvalidRequest, ""},
		{"Cancel", "2030", false, providers.KindInvalidRequest, ""},
		{"NetCancel", "2020", false, providers.KindInvalidRequest, ""},
		{"NetCancel", "A118", false, providers.KindNotFound, ""},
		{"Approve", "A299", false, providers.KindTimeout, ""},
		{"Approve", "Z999", false, providers.KindUnknown, ""},
	}
	for _, c := range cases {
		rc := nicepay.Classify(c.op, c.code)
		if rc.OK != c.ok || (!c.ok && (rc.Kind != c.kind || rc.Decline != c.decline)) {
			t.Errorf("Classify(%s, %s) = ok %v %v %q, want ok %v %v %q", c.op, c.code, rc.OK, rc.Kind, rc.Decline, c.ok, c.kind, c.decline)
		}
	}
}

// common/code.md lists 2011, 2012 and 2032 twice: the operation decides.
func TestClassifyByOperation(t *testing.T) {
	if m := nicepay.Classify("Cancel", "2032").Meaning; m != "cancel amount over the cancellable amount" {
		t.Errorf("2032 on Cancel: %q", m)
	}
	if m := nicepay.Classify("Approve", "2032").Meaning; m != "merchant order number too long" {
		t.Errorf("2032 on Approve: %q", m)
	}
	if m := nicepay.Classify("Cancel", "2011").Meaning; m != "cancel amount mismatch" {
		t.Errorf("2011 on Cancel: %q", m)
	}
	if m := nicepay.Classify("Lookup", "2012").Meaning; m != "no such order number" {
		t.Errorf("2012 on Lookup: %q", m)
	}
}

func TestResultCodesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, rc := range nicepay.ResultCodes {
		key := rc.Code
		for _, op := range rc.Ops {
			key += "/" + op
		}
		if seen[key] {
			t.Errorf("%s listed twice for the same operations", key)
		}
		seen[key] = true
		switch {
		case rc.OK && rc.Kind != providers.KindUnknown:
			t.Errorf("%s: a success code with a Kind", rc.Code)
		case !rc.OK && rc.Kind == providers.KindUnknown:
			t.Errorf("%s: a failure without a Kind", rc.Code)
		case rc.Kind == providers.KindDeclined && rc.Decline == "":
			t.Errorf("%s: declined without a reason", rc.Code)
		case rc.Meaning == "":
			t.Errorf("%s: no meaning", rc.Code)
		}
	}
}

func TestCardCompany(t *testing.T) {
	if got := nicepay.CardCompany("04"); got != providers.CardSamsung {
		t.Errorf("04 = %q", got)
	}
	if got := nicepay.CardCompany("11"); got != "" {
		t.Errorf("11 (Citi) = %q, want none", got)
	}
}
