// Korean by default, English on request; the choice is kept in localStorage
// and set as <html lang>.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en";
import { ko } from "./ko";
import type { Lang } from "../lib/format";

export const langStorageKey = "paymux.console.lang";

/** initialLang picks the stored language, Korean otherwise. */
export function initialLang(stored: string | null): Lang {
  return stored === "en" ? "en" : "ko";
}

function stored(): string | null {
  try {
    return localStorage.getItem(langStorageKey);
  } catch {
    return null;
  }
}

export function setLang(lang: Lang) {
  try {
    localStorage.setItem(langStorageKey, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  void i18n.changeLanguage(lang);
}

export function currentLang(): Lang {
  return i18n.language === "en" ? "en" : "ko";
}

void i18n.use(initReactI18next).init({
  resources: { ko: { translation: ko }, en: { translation: en } },
  lng: initialLang(stored()),
  fallbackLng: "ko",
  interpolation: { escapeValue: false }, // React escapes what it renders
  returnNull: false,
});

function syncHtmlLang(lng: string) {
  if (typeof document !== "undefined") document.documentElement.lang = lng === "en" ? "en" : "ko";
}
syncHtmlLang(i18n.language);
i18n.on("languageChanged", syncHtmlLang);

export default i18n;
