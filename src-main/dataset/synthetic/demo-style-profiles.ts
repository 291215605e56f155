/**
 * Style-dependent attribute distributions of the demo dataset (pure data, read by demo-attributes.ts).
 *
 * The weights are invented but plausible — 리조트 leans to dresses, linen and florals, 로맨틱 to
 * blouses, skirts, lace and ruffles, 레트로 to shirts, jeans, checks and denim — so that attributes
 * carry style signal a model can learn and an evaluation can show per style. Values come from the
 * K-Fashion vocabulary (shared/data/kfashion-vocab.json); a unit test checks every one of them.
 */
import type { GarmentPart } from '../../../src-shared/fields.ts';

export const DEMO_STYLES = ['레트로', '로맨틱', '리조트'] as const;
export type DemoStyle = (typeof DEMO_STYLES)[number];

export type Weights = Readonly<Record<string, number>>;

/** Which parts an image shows: top + bottom, a one-piece, or either under an outer layer. */
export type Combo = 'top+bottom' | 'onepiece' | 'outer+top+bottom' | 'outer+onepiece';

export const COMBO_PARTS: Readonly<Record<Combo, readonly GarmentPart[]>> = {
  'top+bottom': ['상의', '하의'],
  onepiece: ['원피스'],
  'outer+top+bottom': ['아우터', '상의', '하의'],
  'outer+onepiece': ['아우터', '원피스'],
};

export interface StyleProfile {
  combos: Readonly<Record<Combo, number>>;
  categories: Readonly<Record<GarmentPart, Weights>>;
  colors: Weights;
  prints: Weights;
  fits: Weights;
  /** Added to the category's own material weights. */
  materialBoost: Weights;
  details: Weights;
  necklines: Weights;
  /** 기장 of skirts and dresses (pants and tops depend on the category only). */
  skirtLengths: Weights;
  subStyles: Weights;
  /** Share of sleeveless tops/dresses is pushed up by this factor (리조트 > 1). */
  sleevelessBias: number;
}

export const STYLE_PROFILES: Readonly<Record<DemoStyle, StyleProfile>> = {
  레트로: {
    combos: { 'top+bottom': 55, onepiece: 15, 'outer+top+bottom': 25, 'outer+onepiece': 5 },
    categories: {
      상의: { 셔츠: 30, 티셔츠: 20, 니트웨어: 20, 블라우스: 12, 탑: 6, 후드티: 8, 브라탑: 4 },
      하의: { 청바지: 40, 팬츠: 25, 스커트: 25, 조거팬츠: 5, 래깅스: 5 },
      아우터: { 재킷: 35, 코트: 15, 점퍼: 18, 가디건: 15, 베스트: 10, 패딩: 4, 짚업: 3 },
      원피스: { 드레스: 75, 점프수트: 25 },
    },
    colors: {
      브라운: 14,
      베이지: 10,
      카키: 8,
      블루: 12,
      네이비: 10,
      와인: 8,
      오렌지: 6,
      옐로우: 6,
      그린: 6,
      블랙: 8,
      화이트: 8,
      레드: 5,
      그레이: 5,
      민트: 2,
      골드: 2,
      퍼플: 2,
      스카이블루: 2,
    },
    prints: {
      무지: 45,
      체크: 15,
      스트라이프: 10,
      도트: 6,
      그래픽: 5,
      레터링: 5,
      페이즐리: 3,
      하운즈투스: 4,
      깅엄: 3,
      아가일: 3,
      플로럴: 3,
      지그재그: 1,
      호피: 1,
    },
    fits: { 노멀: 35, 루즈: 25, 오버사이즈: 10, 와이드: 12, 스키니: 6, 타이트: 4, 벨보텀: 8 },
    materialBoost: { 데님: 3, 코듀로이: 3, 가죽: 2, 스웨이드: 2, 트위드: 1.5, 벨벳: 1, 니트: 1 },
    details: {
      단추: 5,
      포켓: 5,
      스티치: 4,
      롤업: 2,
      플레어: 2,
      버클: 2,
      패치워크: 2,
      디스트로이드: 1.5,
      싱글브레스티드: 2,
      지퍼: 2,
      프린지: 1,
      자수: 1,
      스트링: 1,
      리본: 1,
      드롭숄더: 1.5,
    },
    necklines: { 라운드넥: 35, 브이넥: 15, 터틀넥: 15, 보트넥: 8, 유넥: 6, 노카라: 8, 스퀘어넥: 5, 후드: 3 },
    skirtLengths: { 미니: 25, 니렝스: 25, 미디: 35, 발목: 10, 맥시: 5 },
    subStyles: { 클래식: 4, 스트리트: 3, 매니시: 2, 히피: 2, 웨스턴: 2, 컨트리: 1, 프레피: 2 },
    sleevelessBias: 0.8,
  },
  로맨틱: {
    combos: { 'top+bottom': 55, onepiece: 25, 'outer+top+bottom': 12, 'outer+onepiece': 8 },
    categories: {
      상의: { 블라우스: 45, 니트웨어: 15, 티셔츠: 12, 셔츠: 12, 탑: 12, 브라탑: 3, 후드티: 1 },
      하의: { 스커트: 60, 팬츠: 20, 청바지: 15, 래깅스: 3, 조거팬츠: 2 },
      아우터: { 가디건: 40, 재킷: 25, 코트: 25, 베스트: 5, 점퍼: 3, 패딩: 2 },
      원피스: { 드레스: 95, 점프수트: 5 },
    },
    colors: {
      화이트: 22,
      핑크: 18,
      베이지: 10,
      라벤더: 8,
      스카이블루: 8,
      블랙: 7,
      민트: 5,
      레드: 4,
      와인: 4,
      옐로우: 3,
      그레이: 3,
      네이비: 3,
      퍼플: 3,
      실버: 1,
      골드: 1,
    },
    prints: {
      무지: 50,
      플로럴: 20,
      도트: 10,
      스트라이프: 5,
      깅엄: 5,
      하트: 4,
      체크: 3,
      페이즐리: 2,
      레터링: 1,
    },
    fits: { 노멀: 50, 루즈: 20, 타이트: 12, 스키니: 8, 오버사이즈: 4, 와이드: 6 },
    materialBoost: { 레이스: 3, 시폰: 3, 실크: 2, 벨벳: 1, 니트: 1, 트위드: 1 },
    details: {
      러플: 6,
      리본: 5,
      레이스: 4,
      셔링: 4,
      프릴: 4,
      퍼프: 4,
      플리츠: 3,
      단추: 3,
      플레어: 2,
      자수: 1,
      비즈: 1,
      포켓: 1,
      페플럼: 1,
    },
    necklines: {
      라운드넥: 30,
      스퀘어넥: 12,
      브이넥: 12,
      스위트하트: 8,
      오프숄더: 8,
      보트넥: 8,
      유넥: 6,
      노카라: 6,
    },
    skirtLengths: { 미니: 20, 니렝스: 20, 미디: 40, 발목: 10, 맥시: 10 },
    subStyles: { 페미닌: 6, 섹시: 2, 클래식: 2, 컨트리: 1, 프레피: 1 },
    sleevelessBias: 1,
  },
  리조트: {
    combos: { 'top+bottom': 50, onepiece: 35, 'outer+top+bottom': 8, 'outer+onepiece': 7 },
    categories: {
      상의: { 탑: 25, 블라우스: 20, 셔츠: 20, 티셔츠: 20, 브라탑: 10, 니트웨어: 4, 후드티: 1 },
      하의: { 팬츠: 35, 스커트: 35, 청바지: 20, 래깅스: 5, 조거팬츠: 5 },
      아우터: { 가디건: 40, 재킷: 20, 베스트: 15, 짚업: 10, 점퍼: 10, 코트: 5 },
      원피스: { 드레스: 85, 점프수트: 15 },
    },
    colors: {
      화이트: 20,
      스카이블루: 10,
      블루: 10,
      옐로우: 8,
      오렌지: 7,
      그린: 7,
      민트: 7,
      베이지: 8,
      핑크: 6,
      네이비: 5,
      레드: 4,
      블랙: 4,
      카키: 3,
      네온: 1,
    },
    prints: {
      무지: 40,
      플로럴: 25,
      스트라이프: 12,
      타이다이: 5,
      페이즐리: 5,
      그래픽: 4,
      도트: 3,
      지그재그: 2,
      호피: 2,
      지브라: 1,
      그라데이션: 1,
    },
    fits: { 노멀: 35, 루즈: 35, 와이드: 15, 오버사이즈: 8, 타이트: 4, 스키니: 3 },
    materialBoost: { 린넨: 4, 시폰: 2, 메시: 1, 니트: 0.5 },
    details: {
      슬릿: 4,
      스트링: 4,
      셔링: 4,
      X스트랩: 2,
      컷아웃: 2,
      프린지: 2,
      태슬: 2,
      리본: 2,
      포켓: 2,
      단추: 2,
      러플: 2,
      비대칭: 1,
      띠: 1,
    },
    necklines: {
      라운드넥: 25,
      브이넥: 20,
      홀터넥: 10,
      오프숄더: 10,
      원숄더: 6,
      스퀘어넥: 8,
      유넥: 6,
      보트넥: 5,
    },
    skirtLengths: { 미니: 30, 니렝스: 10, 미디: 25, 발목: 10, 맥시: 25 },
    subStyles: { 히피: 4, 로맨틱: 3, 섹시: 2, 컨트리: 2, 페미닌: 2, 스포티: 1 },
    sleevelessBias: 1.8,
  },
};

/** Materials by category (before the style boost). */
export const CATEGORY_MATERIALS: Readonly<Record<string, Weights>> = {
  탑: { 저지: 4, 니트: 2, 실크: 1.5, 린넨: 1.5, 시폰: 1.5, 우븐: 1 },
  블라우스: { 우븐: 5, 시폰: 3, 실크: 2, 레이스: 1.5, 린넨: 1 },
  티셔츠: { 저지: 8, 니트: 1, 메시: 0.5 },
  니트웨어: { 니트: 8, '울/캐시미어': 2, '헤어 니트': 1, 앙고라: 0.3 },
  셔츠: { 우븐: 6, 린넨: 2, 데님: 1.5, 실크: 1, 코듀로이: 0.5 },
  브라탑: { 저지: 4, 스판덱스: 3, 니트: 2, 레이스: 1 },
  후드티: { 저지: 6, 플리스: 3 },
  청바지: { 데님: 10 },
  팬츠: { 우븐: 5, 린넨: 2, 코듀로이: 1.5, 가죽: 0.5, 저지: 1 },
  스커트: { 우븐: 5, 시폰: 2, 레이스: 1.5, 데님: 1.5, 트위드: 1, 가죽: 0.5, 니트: 1 },
  래깅스: { 스판덱스: 6, 저지: 3 },
  조거팬츠: { 저지: 6, 플리스: 2, 우븐: 1 },
  코트: { '울/캐시미어': 6, 트위드: 2, 우븐: 2, 퍼: 0.5, 무스탕: 0.5 },
  재킷: { 우븐: 4, 데님: 2.5, 가죽: 2, 트위드: 2, 코듀로이: 1.5, 스웨이드: 1 },
  점퍼: { 우븐: 4, 가죽: 2, 플리스: 1.5, 스웨이드: 1, 네오프렌: 0.5 },
  패딩: { 패딩: 8, 우븐: 1 },
  베스트: { 니트: 3, 우븐: 3, 퍼: 1, 데님: 1, 패딩: 1 },
  가디건: { 니트: 8, '울/캐시미어': 1.5, '헤어 니트': 0.5 },
  짚업: { 저지: 5, 플리스: 3, 니트: 1 },
  드레스: {
    우븐: 4,
    시폰: 3,
    린넨: 2,
    레이스: 1.5,
    니트: 1.5,
    실크: 1.5,
    저지: 1,
    '시퀸/글리터': 0.3,
    벨벳: 0.5,
  },
  점프수트: { 우븐: 4, 린넨: 2, 데님: 2, 저지: 1 },
};

/** Details that belong to a category, added to the style's detail weights. */
export const CATEGORY_DETAILS: Readonly<Record<string, Weights>> = {
  청바지: { 포켓: 5, 스티치: 4, 디스트로이드: 2, 롤업: 2 },
  셔츠: { 단추: 6, 포켓: 2 },
  블라우스: { 단추: 2, 리본: 1 },
  코트: { 단추: 4, 싱글브레스티드: 3, 더블브레스티드: 2, 포켓: 3 },
  재킷: { 단추: 3, 싱글브레스티드: 3, 더블브레스티드: 1.5, 포켓: 3 },
  점퍼: { 지퍼: 6, 포켓: 3 },
  짚업: { 지퍼: 8, 스트링: 2 },
  패딩: { 퀄팅: 6, 지퍼: 4 },
  후드티: { 스트링: 5, 포켓: 3 },
  가디건: { 단추: 6, 니트꽈베기: 2 },
  스커트: { 플리츠: 3, 슬릿: 1.5, 플레어: 2 },
  드레스: { 셔링: 2, 플레어: 2, 슬릿: 1 },
  조거팬츠: { 스트링: 4, 포켓: 2 },
  니트웨어: { 니트꽈베기: 3 },
};

/** 소매기장 by category (sleeveless shares are scaled by the style's sleevelessBias). */
export const CATEGORY_SLEEVES: Readonly<Record<string, Weights>> = {
  탑: { 민소매: 60, 없음: 20, 캡: 20 },
  브라탑: { 없음: 60, 민소매: 40 },
  티셔츠: { 반팔: 60, 긴팔: 30, '7부소매': 10 },
  셔츠: { 긴팔: 60, 반팔: 25, '7부소매': 15 },
  블라우스: { 긴팔: 35, 반팔: 20, '7부소매': 15, 캡: 15, 민소매: 15 },
  니트웨어: { 긴팔: 75, '7부소매': 15, 반팔: 10 },
  후드티: { 긴팔: 100 },
  드레스: { 민소매: 30, 반팔: 25, 캡: 15, 긴팔: 20, '7부소매': 10 },
  점프수트: { 민소매: 40, 반팔: 40, 긴팔: 20 },
  베스트: { 없음: 70, 민소매: 30 },
  outer: { 긴팔: 85, '7부소매': 10, 반팔: 5 },
};

/** 기장 by category where it does not follow the style (tops, pants, outers). */
export const CATEGORY_LENGTHS: Readonly<Record<string, Weights>> = {
  top: { 크롭: 15, 노멀: 70, 롱: 15 },
  브라탑: { 크롭: 80, 노멀: 20 },
  pants: { 발목: 55, 미니: 20, 맥시: 12, 니렝스: 6, 미디: 7 },
  래깅스: { 발목: 80, 미디: 20 },
  점프수트: { 발목: 60, 미니: 20, 맥시: 20 },
  코트: { 하프: 30, 롱: 50, 맥시: 15, 노멀: 5 },
  점퍼: { 크롭: 25, 노멀: 65, 하프: 10 },
  짚업: { 크롭: 25, 노멀: 75 },
  패딩: { 크롭: 20, 노멀: 50, 하프: 15, 롱: 15 },
  재킷: { 크롭: 20, 노멀: 65, 하프: 15 },
  가디건: { 크롭: 20, 노멀: 60, 롱: 20 },
  베스트: { 크롭: 20, 노멀: 70, 롱: 10 },
};

/** 옷깃 by category, with the share of garments that have one labelled. */
export const CATEGORY_COLLARS: Readonly<Record<string, { share: number; weights: Weights }>> = {
  셔츠: { share: 0.85, weights: { 셔츠칼라: 70, 밴드칼라: 15, 차이나칼라: 8, 폴로칼라: 7 } },
  블라우스: {
    share: 0.45,
    weights: { 보우칼라: 30, 피터팬칼라: 25, 셔츠칼라: 20, 세일러칼라: 12, 밴드칼라: 13 },
  },
  티셔츠: { share: 0.08, weights: { 폴로칼라: 100 } },
  재킷: { share: 0.8, weights: { 테일러드칼라: 60, 숄칼라: 12, 셔츠칼라: 15, 밴드칼라: 13 } },
  코트: { share: 0.8, weights: { 테일러드칼라: 55, 숄칼라: 20, 셔츠칼라: 15, 차이나칼라: 10 } },
  점퍼: { share: 0.4, weights: { 밴드칼라: 50, 셔츠칼라: 50 } },
  드레스: { share: 0.15, weights: { 셔츠칼라: 40, 피터팬칼라: 35, 세일러칼라: 25 } },
};

/** Fits a part or category can have (벨보텀 and 와이드 are trouser shapes, for instance). */
export const ALLOWED_FITS: Readonly<Record<string, readonly string[]>> = {
  상의: ['노멀', '루즈', '오버사이즈', '타이트'],
  아우터: ['노멀', '루즈', '오버사이즈', '타이트'],
  스커트: ['노멀', '루즈', '타이트'],
  pants: ['노멀', '루즈', '오버사이즈', '스키니', '와이드', '타이트', '벨보텀'],
  래깅스: ['스키니', '타이트'],
  드레스: ['노멀', '루즈', '오버사이즈', '타이트'],
  점프수트: ['노멀', '루즈', '와이드', '스키니', '타이트'],
};

/** Colours denim-like categories take regardless of style. */
export const DENIM_COLORS: Weights = { 블루: 55, 스카이블루: 15, 블랙: 10, 네이비: 12, 그레이: 5, 화이트: 3 };
