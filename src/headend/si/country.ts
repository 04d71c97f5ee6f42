// The country a TV applies a Time Offset Table entry to (EN 300 468 §6.2.20: country_code is
// ISO 3166-1 alpha-3): `headend.country` when configured, else the country of
// `headend.timezone` in the system's tz database (zone.tab of Debian's tzdata: alpha-2 codes,
// turned into alpha-3 with the ISO 3166-1 table below).

import { readFileSync } from 'node:fs';

/** ISO 3166-1: alpha-2 followed by alpha-3, for every officially assigned code. */
const ISO_3166 =
  'ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW AXALA ' +
  'AZAZE BABIH BBBRB BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN BOBOL BQBES ' +
  'BRBRA BSBHS BTBTN BVBVT BWBWA BYBLR BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG CHCHE CICIV CKCOK ' +
  'CLCHL CMCMR CNCHN COCOL CRCRI CUCUB CVCPV CWCUW CXCXR CYCYP CZCZE DEDEU DJDJI DKDNK DMDMA ' +
  'DODOM DZDZA ECECU EEEST EGEGY EHESH ERERI ESESP ETETH FIFIN FJFJI FKFLK FMFSM FOFRO FRFRA ' +
  'GAGAB GBGBR GDGRD GEGEO GFGUF GGGGY GHGHA GIGIB GLGRL GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS ' +
  'GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD HNHND HRHRV HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD ' +
  'IOIOT IQIRQ IRIRN ISISL ITITA JEJEY JMJAM JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA ' +
  'KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO LBLBN LCLCA LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA ' +
  'LYLBY MAMAR MCMCO MDMDA MEMNE MFMAF MGMDG MHMHL MKMKD MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ ' +
  'MRMRT MSMSR MTMLT MUMUS MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM NCNCL NENER NFNFK NGNGA NINIC ' +
  'NLNLD NONOR NPNPL NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG PHPHL PKPAK PLPOL PMSPM ' +
  'PNPCN PRPRI PSPSE PTPRT PWPLW PYPRY QAQAT RERUE ROROU RSSRB RURUS RWRWA SASAU SBSLB SCSYC ' +
  'SDSDN SESWE SGSGP SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD STSTP SVSLV ' +
  'SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON TRTUR ' +
  'TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY UZUZB VAVAT VCVCT VEVEN VGVGB VIVIR ' +
  'VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE';

const ALPHA3 = new Map(ISO_3166.split(' ').map((e) => [e.slice(0, 2), e.slice(2)]));
const KNOWN_ALPHA3 = new Set(ALPHA3.values());

/** The alpha-3 code of an alpha-2 one ("DE" → "DEU"), undefined when unknown. */
export function alpha3Of(alpha2: string): string | undefined {
  return ALPHA3.get(alpha2.toUpperCase());
}

/** True for an assigned ISO 3166-1 alpha-3 code (upper case). */
export function isAlpha3(code: string): boolean {
  return KNOWN_ALPHA3.has(code);
}

/** Where the tz database lists each zone's country (Debian's tzdata). */
export const ZONE_TAB = '/usr/share/zoneinfo/zone.tab';

/**
 * The alpha-3 country of an IANA zone from zone.tab ("Europe/Berlin" → "DEU"); undefined for
 * zones of no country (UTC, Etc/…) or when the file cannot be read.
 */
export function countryOfZone(zone: string, zoneTab = ZONE_TAB): string | undefined {
  let text: string;
  try {
    text = readFileSync(zoneTab, 'utf8');
  } catch {
    return undefined; // no tzdata: the caller asks for headend.country instead
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [cc, , name] = line.split('\t');
    if (name === zone && cc !== undefined) return alpha3Of(cc);
  }
  return undefined;
}
