// Each PG's channel settings, as channel.proto describes them.
import { Provider } from "@paymux/client";

export interface SecretField {
  name: string;
  required: boolean;
}

/** providerSecrets lists the secrets a provider's channel takes. */
export function providerSecrets(p: Provider): SecretField[] {
  switch (p) {
    case Provider.TOSSPAYMENTS:
      return [
        { name: "client_key", required: true },
        { name: "secret_key", required: true },
        { name: "webhook_security_key", required: false },
      ];
    case Provider.NICEPAY:
      return [
        { name: "client_id", required: true },
        { name: "secret_key", required: true },
        { name: "client_approval_client_id", required: false },
        { name: "client_approval_secret_key", required: false },
      ];
    default:
      return [];
  }
}

/** secretsToSend keeps the filled-in secrets of a provider, trimmed; missing required names are reported. */
export function secretsToSend(
  p: Provider,
  values: Record<string, string>,
): { secrets: Record<string, string>; missing: string[] } {
  const secrets: Record<string, string> = {};
  const missing: string[] = [];
  for (const f of providerSecrets(p)) {
    const v = (values[f.name] ?? "").trim();
    if (v !== "") secrets[f.name] = v;
    else if (f.required) missing.push(f.name);
  }
  return { secrets, missing };
}
