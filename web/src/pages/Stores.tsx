import { useTranslation } from "react-i18next";
import { PageHeader } from "../components/common";

export default function Page() {
  const { t } = useTranslation();
  return <PageHeader title={t("nav.stores")} />;
}
