import { Anchor, Stack, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { PageHeader } from "../components/common";

export default function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <PageHeader title={t("notFound.title")} />
      <Text>{t("notFound.body")}</Text>
      <Anchor component={Link} to="/">
        {t("nav.home")}
      </Anchor>
    </Stack>
  );
}
