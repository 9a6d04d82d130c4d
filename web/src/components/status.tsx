import { Badge } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { PaymentStatus, PaymentStatusSchema } from "@paymux/client";
import { enumText } from "./labels";

const colors: Partial<Record<PaymentStatus, string>> = {
  [PaymentStatus.PAID]: "green",
  [PaymentStatus.PARTIAL_CANCELLED]: "orange",
  [PaymentStatus.CANCELLED]: "gray",
  [PaymentStatus.FAILED]: "red",
  [PaymentStatus.EXPIRED]: "gray",
  [PaymentStatus.READY]: "blue",
  [PaymentStatus.VIRTUAL_ACCOUNT_ISSUED]: "cyan",
  [PaymentStatus.PAY_PENDING]: "yellow",
};

export function PaymentStatusBadge({ status }: { status: PaymentStatus }) {
  const { t } = useTranslation();
  return (
    <Badge color={colors[status] ?? "gray"} variant="light" data-testid="payment-status" data-status={PaymentStatus[status]}>
      {enumText(t, PaymentStatusSchema, status)}
    </Badge>
  );
}
