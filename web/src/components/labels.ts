// Labels of enum values in the current language.
import type { TFunction } from "i18next";
import { ConsoleRole } from "@paymux/client";

export function roleLabel(t: TFunction, role: ConsoleRole | undefined): string {
  switch (role) {
    case ConsoleRole.VIEWER:
      return t("role.viewer");
    case ConsoleRole.DEVELOPER:
      return t("role.developer");
    case ConsoleRole.ADMIN:
      return t("role.admin");
    case ConsoleRole.OWNER:
      return t("role.owner");
    default:
      return t("role.none");
  }
}

import type { DescEnum } from "@bufbuild/protobuf";

/**
 * enumText is the label of an enum value: the i18n text under
 * enums.<EnumName>.<VALUE> when there is one, else the value's short name
 * (PAYMENT_STATUS_PAID → PAID).
 */
export function enumText(t: TFunction, schema: DescEnum, value: number | undefined): string {
  if (value === undefined || value === 0) return "-";
  const v = schema.values.find((x) => x.number === value);
  if (!v) return String(value);
  return t(`enums.${schema.name}.${v.localName}`, { defaultValue: v.localName });
}

/** enumOptions lists an enum's values but UNSPECIFIED, for a select. */
export function enumOptions(t: TFunction, schema: DescEnum): { value: string; label: string }[] {
  return schema.values
    .filter((v) => v.number !== 0)
    .map((v) => ({ value: String(v.number), label: enumText(t, schema, v.number) }));
}
