"""ISO 3166-1 alpha-2 country codes (officially assigned)."""

ISO_COUNTRIES = frozenset(["AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"])

# Codes the EU uses in its own documents instead of ISO's; refused with the ISO code suggested.
EU_ALIASES = {"EL": "GR", "UK": "GB"}

# European countries (and a few neighbours): code -> (main IANA zone, names in English and in
# the country's own languages). Used to suggest the code for `country: France` and the zone
# for `timezone: Spain` or `timezone: UTC+1`.
EUROPE: dict[str, tuple[str, tuple[str, ...]]] = {
    "AD": ("Europe/Andorra", ("Andorra",)),
    "AL": ("Europe/Tirane", ("Albania", "Shqipëria", "Shqipëri")),
    "AM": ("Asia/Yerevan", ("Armenia", "Hayastan")),
    "AT": ("Europe/Vienna", ("Austria", "Österreich")),
    "AZ": ("Asia/Baku", ("Azerbaijan", "Azərbaycan")),
    "BA": ("Europe/Sarajevo", ("Bosnia and Herzegovina", "Bosnia", "Bosna i Hercegovina")),
    "BE": ("Europe/Brussels", ("Belgium", "België", "Belgique", "Belgien")),
    "BG": ("Europe/Sofia", ("Bulgaria", "България", "Bulgariya")),
    "BY": ("Europe/Minsk", ("Belarus", "Беларусь")),
    "CH": ("Europe/Zurich", ("Switzerland", "Schweiz", "Suisse", "Svizzera", "Svizra")),
    "CY": ("Asia/Nicosia", ("Cyprus", "Κύπρος", "Kypros", "Kıbrıs")),
    "CZ": ("Europe/Prague", ("Czechia", "Czech Republic", "Česko", "Česká republika")),
    "DE": ("Europe/Berlin", ("Germany", "Deutschland")),
    "DK": ("Europe/Copenhagen", ("Denmark", "Danmark")),
    "EE": ("Europe/Tallinn", ("Estonia", "Eesti")),
    "ES": ("Europe/Madrid", ("Spain", "España", "Espana", "Espanya", "Catalonia", "Catalunya")),
    "FI": ("Europe/Helsinki", ("Finland", "Suomi")),
    "FO": ("Atlantic/Faroe", ("Faroe Islands", "Føroyar")),
    "FR": ("Europe/Paris", ("France",)),
    "GB": ("Europe/London", ("United Kingdom", "Great Britain", "Britain", "England",
                             "Scotland", "Wales", "Northern Ireland")),
    "GE": ("Asia/Tbilisi", ("Georgia", "Sakartvelo")),
    "GR": ("Europe/Athens", ("Greece", "Ελλάδα", "Ellada", "Hellas")),
    "HR": ("Europe/Zagreb", ("Croatia", "Hrvatska")),
    "HU": ("Europe/Budapest", ("Hungary", "Magyarország")),
    "IE": ("Europe/Dublin", ("Ireland", "Éire", "Eire")),
    "IS": ("Atlantic/Reykjavik", ("Iceland", "Ísland")),
    "IT": ("Europe/Rome", ("Italy", "Italia")),
    "LI": ("Europe/Vaduz", ("Liechtenstein",)),
    "LT": ("Europe/Vilnius", ("Lithuania", "Lietuva")),
    "LU": ("Europe/Luxembourg", ("Luxembourg", "Lëtzebuerg", "Luxemburg")),
    "LV": ("Europe/Riga", ("Latvia", "Latvija")),
    "MC": ("Europe/Monaco", ("Monaco",)),
    "MD": ("Europe/Chisinau", ("Moldova",)),
    "ME": ("Europe/Podgorica", ("Montenegro", "Crna Gora")),
    "MK": ("Europe/Skopje", ("North Macedonia", "Macedonia", "Северна Македонија")),
    "MT": ("Europe/Malta", ("Malta",)),
    "NL": ("Europe/Amsterdam", ("Netherlands", "The Netherlands", "Nederland", "Holland")),
    "NO": ("Europe/Oslo", ("Norway", "Norge", "Noreg")),
    "PL": ("Europe/Warsaw", ("Poland", "Polska")),
    "PT": ("Europe/Lisbon", ("Portugal",)),
    "RO": ("Europe/Bucharest", ("Romania", "România", "Roumania", "Roumanie")),
    "RS": ("Europe/Belgrade", ("Serbia", "Србија", "Srbija")),
    "RU": ("Europe/Moscow", ("Russia", "Россия", "Rossiya")),
    "SE": ("Europe/Stockholm", ("Sweden", "Sverige")),
    "SI": ("Europe/Ljubljana", ("Slovenia", "Slovenija")),
    "SK": ("Europe/Bratislava", ("Slovakia", "Slovensko")),
    "SM": ("Europe/San_Marino", ("San Marino",)),
    "TR": ("Europe/Istanbul", ("Turkey", "Türkiye", "Turkiye")),
    "UA": ("Europe/Kyiv", ("Ukraine", "Україна", "Ukraina")),
    "VA": ("Europe/Vatican", ("Vatican", "Holy See", "Città del Vaticano")),
}
