// Package redact masks what paymux writes to its logs: API request and
// response bodies, PG calls, webhook deliveries and their headers. Every
// body and header goes through it before it is stored (DOMAIN §10: never a
// full card number, a CVC or card password digits; at most BIN + last 4).
//
// Entry points:
//
//   - Body(contentType, body): picks JSON, Form or Text by content type.
//   - JSON(body): a JSON document, masked by key and by value. Invalid JSON
//     falls back to Text.
//   - Form(body): an application/x-www-form-urlencoded body.
//   - Text(b), String(s): free text (value rules only, plus key=value pairs).
//   - Headers(h), HeaderValue(name, v): HTTP headers.
//   - Truncate(b, n): bounds a stored body; call it after masking.
//   - MaskCard(s), MaskIdentity(s): the two digit masks, for code that shows
//     such numbers itself.
//
// Masking is idempotent (masking masked output changes nothing), never
// panics, and returns its input unchanged (the same slice) when there is
// nothing to mask.
//
// # Key rules
//
// A key is a JSON member name, a form field name or a header name. It is
// compared ASCII-case-insensitively with '_', '-' and ' ' ignored, so
// cardNumber, card_number and Card-Number are one key. A path such as
// "card.number" or "card[number]" uses its last segment as the key and the
// one before as its parent; in JSON the parent is the key of the enclosing
// object (arrays are transparent: elements take the key of their array).
//
//   - Secret → "[REDACTED]": keys containing password, passwd, pwd, secret,
//     cvc, cvv, privatekey, apikey, accesskey, signkey, sitekey, merchantkey,
//     hashkey, credential, cookie; keys ending in token, tokens, pw, pass,
//     pin, signature, whsec; and passcode, otp, securitycode, signdata,
//     batchgroupid. So password_two_digits, passwordTwoDigits, pwd_2digit,
//     cardPw, secret_key, notification_secret, access_token, authToken,
//     api_key and a channel's "secrets" map (all of it) are secrets. Not
//     secrets, kept readable: pageToken, nextPageToken, secretNames,
//     tokenType.
//   - Authorization (keys containing "authorization") → like a secret, but a
//     leading scheme word is kept: "Basic [REDACTED]".
//   - Card number → MaskCard: keys containing cardnumber, ending in cardno or
//     cardnum, pan, maskedPan, ccNumber; and number, no, num under a parent
//     whose key contains "card" (card.number).
//   - Resident registration number → every digit '*': keys containing
//     residentNumber, residentRegistration, jumin, socialSecurity,
//     foreignerNumber, ...; rrn, ssn, nationalId.
//   - Identity and account numbers → MaskIdentity: keys containing
//     identityNumber, birthOrBusiness, businessNumber, bizNo, phone, mobile,
//     accountNumber, accountNo, bankAccount, refundAccount, vbankNum, birth,
//     ownerId; ending in tel or telno; hp, dob, idNo; number, no, num under
//     a parent containing account, refund, vbank, bank, phone, mobile,
//     identity or business (refund_account.number); identifier or identity
//     under a parent containing receipt (cash_receipt.identifier).
//
// A secret's whole value is masked: every string and number inside it,
// however deep; members keep their names; true, false, null and "" are kept
// (they reveal nothing, and show whether a secret was sent). The other key
// rules apply to a string or number value, or to each element of an array of
// them; members of an object under such a key are classified by their own
// names. A masked number becomes a string. What a card, identity or
// resident key rule leaves readable still gets the value rules.
//
// # Value rules
//
// Every string, key and number without a key rule gets the value rules of
// Text, wherever it is: card numbers (13-19 digits passing Luhn, contiguous
// or grouped with spaces, dashes, '+', "%20" or "%2B") keep only the BIN and last 4;
// "Basic"/"Bearer" credentials, and the rest of a token after sk_test_,
// sk_live_, whsec_, pma_ or at_, become "[REDACTED]"; resident registration
// numbers YYMMDD-NNNNNNN lose their back 7 digits; and key=value pairs
// ("cvc=123" in a URL query) or "key": value fragments in text are masked by
// their key. A JSON number holding a card number is masked even when
// written as 9.410000000000005e15. A string that holds a JSON document is
// parsed and masked as JSON (up to 8 levels of nesting), so
// "{\"cvc\":\"123\"}" inside a webhook payload is caught by key.
//
// # Limits
//
// Names, e-mail addresses and street addresses are not masked. Identity and
// account numbers are only recognised by key, not by value (a phone number
// in free text is kept). A card number is recognised by value only when its
// digits are ASCII and are not part of a longer contiguous run of digits,
// and only in the spellings listed above (not, say, \u0034-escaped in
// invalid JSON). Free-text rules cannot know where an unquoted value
// written with spaces ends ("password=my secret" masks "my"). These are the
// reasons to mask structured bodies with JSON or Form rather than Text.
package redact
