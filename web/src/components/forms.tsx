// Form fields used across pages, all native elements so they work with the
// keyboard, on phones and in browser tests.
import { useEffect, useRef } from "react";
import { NativeSelect, TextInput } from "@mantine/core";
import type { DescEnum } from "@bufbuild/protobuf";
import { useTranslation } from "react-i18next";
import { enumOptions } from "./labels";

export function EnumSelect({
  schema,
  value,
  onChange,
  label,
  testId,
  allowAny,
  only,
  required,
}: {
  schema: DescEnum;
  value: string;
  onChange: (v: string) => void;
  label: string;
  testId: string;
  /** Offer "all" (the empty value) first. */
  allowAny?: boolean;
  /** Offer only these values. */
  only?: number[];
  required?: boolean;
}) {
  const { t } = useTranslation();
  let data = enumOptions(t, schema);
  if (only) data = data.filter((d) => only.includes(Number(d.value)));
  if (allowAny) data = [{ value: "", label: t("common.all") }, ...data];
  return (
    <NativeSelect
      label={label}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      data={data}
      data-testid={testId}
      required={required}
    />
  );
}

export function KSTInput({
  label,
  value,
  onChange,
  testId,
  required,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  testId: string;
  required?: boolean;
}) {
  // A value set from outside React (a browser test setting .value and firing
  // change) bypasses React's onChange; listen to the element itself too.
  const ref = useRef<HTMLInputElement>(null);
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const on = () => latest.current(el.value);
    el.addEventListener("change", on);
    return () => el.removeEventListener("change", on);
  }, []);
  return (
    <TextInput
      ref={ref}
      type="datetime-local"
      label={label}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      data-testid={testId}
      required={required}
    />
  );
}
