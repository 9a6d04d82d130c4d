package redact

import "strings"

// class is what a key (JSON member name, form field, header name) says about
// its value. Higher classes mask more; a secret ancestor makes every
// descendant a secret.
type class uint8

const (
	classNone     class = iota
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
}

// A key containing one of these is a secret.
var secretContains = []string{
	"password", "passwd", "secret", "cvc", "cvv", "privatekey", "apikey",
	"accesskey", "signkey", "sitekey", "merchantkey", "hashkey", "credential",
	"cookie",
}

// A key ending with one of these is a secret ("accessToken", "cardPin",
// "cardPwd", "notificationSignature").
var secretSuffixes = []string{"token", "tokens", "pwd", "pw", "pin", "signature", "whsec"}

// Keys that are secrets only when they are the whole key.
var secretExact = map[string]bool{
	"pass": true, "passcode": true, "otp": true, "securitycode": true,
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
var identityExact = map[string]bool{"hp": true, "dob": true}

// "number", "no", "num" mean what their parent object is about:
// card.number is a card number, refund_account.number an account number.
var numberKeys = map[string]bool{"number": true, "no": true, "num": true}
var identityParents = []string{"account", "refund", "vbank", "bank", "phone", "mobile", "identity"}

// A cash receipt's "identifier" (iamport) or "identity" is a phone,
// cash-receipt card or business number.
var receiptIdentityKeys = map[string]bool{"identifier": true, "identity": true}

// classifyKey classifies the raw key name under the raw parent key name (the
// key of the enclosing object, "" at the top or when unknown).
func classifyKey(key, parent string) class {
	if strings.ContainsAny(key, ".[]") {
		segs := strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
		switch len(segs) {
		case 0:
			return classNone
		case 1:
			key = segs[0]
		default:
			key, parent = segs[len(segs)-1], segs[len(segs)-2]
		}
	}
	var kb, pb [64]byte
	return classifyNorm(normKey(kb[:0], key), normKey(pb[:0], parent))
}

// normKey appends the normalised key to dst.
func normKey(dst []byte, s string) []byte {
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

func classifyNorm(kb, pb []byte) class {
	if len(kb) == 0 {
		return classNone
	}
	k, p := string(kb), string(pb) // short keys; the compiler may not even copy in map look-ups
	if exemptKeys[k] {
		return classNone
	}
	if strings.Contains(k, "authorization") {
		return classAuth
	}
	if containsAny(k, secretContains) || hasAnySuffix(k, secretSuffixes) || secretExact[k] {
		return classSecret
	}
	if containsAny(k, residentContains) || residentExact[k] || strings.HasSuffix(k, "rrn") || strings.HasSuffix(k, "ssn") {
		return classResident
	}
	if containsAny(k, cardContains) || hasAnySuffix(k, cardSuffixes) || cardExact[k] {
		return classCard
	}
	if numberKeys[k] && strings.Contains(p, "card") {
		return classCard
	}
	if containsAny(k, identityContains) || hasAnySuffix(k, identitySuffixes) || identityExact[k] {
		return classIdentity
	}
	if numberKeys[k] && containsAny(p, identityParents) {
		return classIdentity
	}
	if receiptIdentityKeys[k] && strings.Contains(p, "receipt") {
		return classIdentity
	}
	if numberKeys[k] && containsAny(p, residentContains) {
		return classResident
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

func hasAnySuffix(s string, sufs []string) bool {
	for _, suf := range sufs {
		if strings.HasSuffix(s, suf) {
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
