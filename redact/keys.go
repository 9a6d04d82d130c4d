package redact

import (
	"bytes"
	"strings"
)

// class is what a key (JSON member name, form field, header name) says about
// its value. Higher classes mask more; a secret ancestor makes every
// descendant a secret.
type class uint8

const (
	classNone     class = iota
	classText           // free text: digit runs of accounts and phones masked (MaskDigitRuns)
	classCard           // BIN + last 4 (MaskCard)
	classIdentity       // first 3 + last 4 of 10 or more digits (MaskIdentity)
	classResident       // every digit masked (resident registration numbers)
	classAuth           // "[REDACTED]", keeping an auth scheme word ("Basic [REDACTED]")
	classSecret         // "[REDACTED]"
)

// Key rules work on a normalised key: ASCII-lowercased with '_', '-' and ' '
// removed, so "cardNumber", "card_number", "Card-Number" and "CARDNUMBER" are
// the same key. A key path written with dots or brackets ("card.number",
// "card[number]") is split, and its last two segments serve as key and
// parent.

// exemptKeys look secret-like but hold nothing secret, and are kept readable.
var exemptKeys = map[string]bool{
	"pagetoken":         true, // pagination cursors
	"nextpagetoken":     true,
	"prevpagetoken":     true,
	"previouspagetoken": true,
	"secretnames":       true, // a channel's list of secret NAMES
	"secretname":        true,
	"tokentype":         true, // "Bearer"
	"bankaccountid":     true, // paymux's id of a bank account ("bac_..."), not its number
}

// A key containing one of these is a secret.
var secretContains = []string{
	"password", "passwd", "pwd", "secret", "cvc", "cvv", "privatekey", "apikey",
	"accesskey", "signkey", "sitekey", "merchantkey", "hashkey", "credential",
	"cookie",
}

// A key ending with one of these is a secret ("accessToken", "cardPin",
// "cardPw", "cardPass", "notificationSignature").
var secretSuffixes = []string{"token", "tokens", "pw", "pass", "pin", "signature", "whsec"}

// Keys that are secrets only when they are the whole key.
var secretExact = map[string]bool{
	"passcode": true, "otp": true, "securitycode": true,
	"cardsecuritycode": true, "signdata": true, "batchgroupid": true,
}

var cardContains = []string{"cardnumber"}
var cardSuffixes = []string{"cardno", "cardnum"}
var cardExact = map[string]bool{
	"pan": true, "cardpan": true, "maskedpan": true, "primaryaccountnumber": true,
	"ccnumber": true, "ccnum": true, "ccno": true,
}

var residentContains = []string{
	"residentnumber", "residentregistration", "residentno", "residentid",
	"jumin", "socialsecurity", "foreignernumber", "foreignerregistration",
	"alienregistration",
}
var residentExact = map[string]bool{"rrn": true, "ssn": true, "nationalid": true}

var identityContains = []string{
	"identitynumber", "identityno", "birthorbusiness", "businessnumber",
	"businessno", "businessregistration", "bizno", "bizregno", "phone", "mobile",
	"cellular", "accountnumber", "accountno", "accountnum", "bankaccount",
	"refundaccount", "vbanknum", "vbankno", "birth", "dateofbirth", "ownerid",
}
var identitySuffixes = []string{"tel", "telno"}
var identityExact = map[string]bool{"hp": true, "dob": true, "idno": true, "idnum": true, "idnumber": true}

// "number", "no", "num" mean what their parent object is about:
// card.number is a card number, refund_account.number an account number.
var numberKeys = map[string]bool{"number": true, "no": true, "num": true}
var identityParents = []string{"account", "refund", "vbank", "bank", "phone", "mobile", "identity", "business"}

// A cash receipt's "identifier" (iamport) or "identity" is a phone,
// cash-receipt card or business number.
var receiptIdentityKeys = map[string]bool{"identifier": true, "identity": true}

// classifyKey classifies the raw key name under the raw parent key name (the
// key of the enclosing object, "" at the top or when unknown).
func classifyKey[K, P string | []byte](key K, parent P) class {
	var kb, pb [64]byte
	// Split a path at '.', '[' and ']': the last segment is the key, the one
	// before it the parent.
	end := len(key)
	for end > 0 && isPathSep(key[end-1]) {
		end--
	}
	start := end
	for start > 0 && !isPathSep(key[start-1]) {
		start--
	}
	k := normKey(kb[:0], key[start:end])
	if start > 0 {
		pe := start
		for pe > 0 && isPathSep(key[pe-1]) {
			pe--
		}
		ps := pe
		for ps > 0 && !isPathSep(key[ps-1]) {
			ps--
		}
		if pe > ps {
			return classifyNorm(k, normKey(pb[:0], key[ps:pe]))
		}
	}
	return classifyNorm(k, normKey(pb[:0], parent))
}

func isPathSep(c byte) bool { return c == '.' || c == '[' || c == ']' }

// normKey appends the normalised key to dst.
func normKey[K string | []byte](dst []byte, s K) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		case c == '_' || c == '-' || c == ' ':
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

type matchKind uint8

const (
	kindContains matchKind = iota
	kindSuffix
	kindExact
)

type keyRule struct {
	pat  string
	kind matchKind
	cls  class
}

// rulesByFirst indexes every key rule by the first byte of its pattern, so
// that classifying a key tries at each position only the patterns that can
// start there.
var rulesByFirst = func() (idx [256][]keyRule) {
	add := func(pats []string, kind matchKind, c class) {
		for _, p := range pats {
			idx[p[0]] = append(idx[p[0]], keyRule{p, kind, c})
		}
	}
	add(secretContains, kindContains, classSecret)
	add(secretSuffixes, kindSuffix, classSecret)
	add(mapKeys(secretExact), kindExact, classSecret)
	add([]string{"authorization"}, kindContains, classAuth)
	add(residentContains, kindContains, classResident)
	add(mapKeys(residentExact), kindExact, classResident)
	add([]string{"rrn", "ssn"}, kindSuffix, classResident)
	add(cardContains, kindContains, classCard)
	add(cardSuffixes, kindSuffix, classCard)
	add(mapKeys(cardExact), kindExact, classCard)
	add(identityContains, kindContains, classIdentity)
	add(identitySuffixes, kindSuffix, classIdentity)
	add(mapKeys(identityExact), kindExact, classIdentity)
	return idx
}()

func mapKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// classifyNorm classifies a normalised key under a normalised parent. When
// several rules match, the one that masks most wins.
func classifyNorm(k, p []byte) class {
	if len(k) == 0 || exemptKeys[string(k)] {
		return classNone
	}
	best := classNone
	for i := range k {
		for _, r := range rulesByFirst[k[i]] {
			if r.cls <= best || len(r.pat) > len(k)-i || string(k[i:i+len(r.pat)]) != r.pat {
				continue
			}
			switch {
			case r.kind == kindContains,
				r.kind == kindSuffix && i+len(r.pat) == len(k),
				r.kind == kindExact && i == 0 && len(r.pat) == len(k):
				best = r.cls
			}
		}
	}
	if best != classNone {
		return best
	}
	switch {
	case numberKeys[string(k)]:
		ps := string(p)
		switch {
		case strings.Contains(ps, "card"):
			return classCard
		case containsAny(ps, identityParents):
			return classIdentity
		case containsAny(ps, residentContains):
			return classResident
		}
	case receiptIdentityKeys[string(k)]:
		if bytes.Contains(p, []byte("receipt")) {
			return classIdentity
		}
	case string(k) == "text" && string(p) == "messages":
		// Bank SMS forwarded to paymux: account and phone numbers inside.
		return classText
	case string(k) == "content" && len(p) == 0:
		// A bank statement file, whole (base64): every row is personal data.
		return classSecret
	}
	return classNone
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// inherit is the class of a member with own class own inside a value of
// class outer: everything inside a secret is secret; the other classes apply
// to their own value (and arrays of it), not to members of an object.
func inherit(outer, own class) class {
	if outer == classSecret || outer == classAuth {
		return classSecret
	}
	return own
}
