package payment

import (
	"errors"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/money"
)

// AmountsFor returns the amounts of a new charge of a through a channel
// of tax type tt: the channel's tax type sets the default VAT. A TAX_FREE
// channel's sales are all tax-free (면세): the whole total is tax-free and
// there is no VAT, and an amount that says otherwise is refused. TAXABLE
// and COMBINED channels take the tax-free part given (0 by default) and
// the VAT given, or (total - tax-free) / 11. prefix names the amount in
// errors ("amount" gives "amount.tax_free").
func AmountsFor(tt channel.TaxType, a Amount, prefix string) (money.Amounts, error) {
	if tt == channel.TaxTypeTAX_FREE && a.Total > 0 {
		if a.TaxFree != 0 && a.TaxFree != a.Total {
			return money.Amounts{}, apierr.InvalidField(prefix+".tax_free",
				"the channel is TAX_FREE: the whole amount %d is tax-free; leave tax_free out or make it the total", a.Total)
		}
		if a.VAT != nil && *a.VAT != 0 {
			return money.Amounts{}, apierr.InvalidField(prefix+".vat", "the channel is TAX_FREE: a tax-free sale has no VAT")
		}
		a.TaxFree = a.Total
	}
	amounts, err := money.NewAmounts(a.Total, a.TaxFree, a.VAT)
	if err != nil {
		var me *money.Error
		if errors.As(err, &me) {
			field := prefix + ".total"
			switch me.Reason {
			case money.ReasonInvalidTaxFreeAmount:
				field = prefix + ".tax_free"
			case money.ReasonInvalidVATAmount:
				field = prefix + ".vat"
			}
			return money.Amounts{}, apierr.InvalidField(field, "%s", me.Message)
		}
		return money.Amounts{}, err
	}
	return amounts, nil
}
